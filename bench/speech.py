"""Spoken-waybill benchmark on the real recogniser, through the live-call path.

    python -m bench.speech --lang ko-KR --n 40 --parcels 100000 --json
    python -m bench.speech --lang zh-CN --manifest recordings.csv --json   # CSV: path,waybill

Without a manifest it makes its own set: N waybills across carriers, said digit by digit by
espeak-ng at several rates, with noise at several SNRs, in the telephone band (8 kHz mu-law,
20 ms frames). Each item is decoded three ways on the same audio:
  baseline_exact_match  free-form Vosk text, normalised, equals the waybill's digits
  grammar_exact_match   the step's grammar and the normaliser: the top alternative's digits
  exact_match           plus formats, check digits and ranking against --parcels known waybills
espeak-ng is robotic and models trained on people hear it poorly: these figures measure the
pipeline, not the accuracy callers would see.

Method (printed with the figures as "method"):
Each item's audio is fed in 20 ms frames to the real Vosk model (free-form: baseline; the
waybill grammar: grammar_exact_match), and the grammar's real N-best is ranked against --parcels
known waybills, the caller being the true parcel's owner (engine_nbest_*: top-1 vs ranked on the
engine's own lists). The engine's digit substitution, insertion and deletion rates are measured
from its top alternatives (aligned to the truth); model_nbest_* ranks lists made by an error
model independent of the ranker: every digit substituted (by a uniformly drawn other digit),
deleted, or followed by an inserted uniform digit at those rates, five alternatives per item.
False corrections, on the engine's lists and on as many error-model lists again
(engine_/model_false_correction_rate, false_correction_rate the worse of the two): a second
database of --fc-parcels waybills drawn like real ones, holding none of the true waybills but,
for each, 5 neighbours one digit away (other customers' parcels) and, for every other item, one
more neighbour that the caller owns; the share of items for which the ranker returns a known
waybill that is not the caller's and not what the recogniser heard first (the ranker moved the
caller onto someone else's parcel). Returning the caller's own neighbour (a one-digit
correction, read back to be confirmed) is counted apart as *_own_parcel_correction_rate; an
unknown waybill whose best reading (the first alternative that fits a carrier's format) was
itself another customer's waybill, returned as heard (a misrecognition no ranking can tell from
the truth: the read-back asks the caller to confirm, and that parcel's status is told only after
its phone check), is counted apart as *_misheard_as_known_rate, never in the false-correction
rate. The error-model lists are made at the engine's rates and at a tenth of them
(model_false_corrections_by_rate_scale; each rate is the higher of the two), where near misses
are common. rtf: decode time over the audio the decoder actually read (up to its endpoint, no
padding counted). Read-back, through the running app (gunicorn, gthread, the model loaded at
start-up, the items' parcels imported, each owned by its caller): --live of the items are played
as calls by the carrier simulator in real time (the caller keys 1, then says the waybill);
readback_ms is the wall time, at the simulator's socket (the carrier's end, where the caller
hears it; the server's end is the same moments but for loopback transit), from the caller's last
voiced frame sent to the first frame of the read-back prompt received (endpointing, decoding,
ranking, the flow and rendering the read-back's speech all inside it; a reply that is not the
read-back, a retry, is counted apart in reply_ms). The baseline, same server: as many other
parcels keyed (1, digits, #), from the last key sent to the first read-back frame. Exit status 1
when a live call fails or either false-correction rate is above 0.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import wave
import zlib
from pathlib import Path

sys.path.insert(0, os.getcwd())

from bench.figures import method, print_figures  # noqa: E402
from flows.prompts import PromptCatalogue  # noqa: E402
from speech.audio import FRAME_BYTES, mulaw_decode, read_wav, to_telephone, write_wav  # noqa: E402
from speech.models import ModelPool  # noqa: E402
from speech.numbers import DIGITS, grammar_words, normalise  # noqa: E402
from speech.recognizer import StreamRecognizer  # noqa: E402
from speech.tts import VOICES, synthesize  # noqa: E402
from speech.waybills import ParcelRef, format_candidates, rank  # noqa: E402
from tracking.carriers import keyed_digits, s10_check_digit  # noqa: E402

ENDPOINT_SILENCE_S = 2.0
RATES_SPOKEN = (120, 150, 180)
SNRS_DB = (None, 20.0, 10.0)


def random_waybill(rng: random.Random) -> str:
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    kind = rng.choice(["SF", "ZTO", "YTO", "STO", "YUNDA", "JD", "JT", "EMS"])
    if kind == "EMS":
        serial = digits(8)
        return f"E{rng.choice('ABCDE')}{serial}{s10_check_digit(serial)}CN"
    return {
        "SF": lambda: "SF" + digits(13), "ZTO": lambda: "7" + rng.choice("345678") + digits(12),
        "YTO": lambda: "YT" + digits(13), "STO": lambda: "77" + digits(11),
        "YUNDA": lambda: "43" + digits(11), "JD": lambda: "JD" + digits(13), "JT": lambda: "JT" + digits(13),
    }[kind]()


def spoken_digits(waybill: str, language: str) -> str:
    # The first word listed for each digit is the plain one (零 not 洞, zero not oh).
    plain: dict[str, str] = {}
    for word, digit in DIGITS[language].items():
        plain.setdefault(digit, word)
    return " ".join(plain[d] for d in keyed_digits(waybill))


def error_rates(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Substitutions, insertions and deletions per true digit, from (truth, heard) alignments."""
    counts = {"substitution": 0, "insertion": 0, "deletion": 0}
    for truth, heard in pairs:
        for kind in edit_operations(truth, heard):
            counts[kind] += 1
    digits = max(1, sum(len(truth) for truth, _ in pairs))
    return {kind: count / digits for kind, count in counts.items()}


def edit_operations(truth: str, heard: str) -> list[str]:
    """The edits of one minimal alignment of heard against truth."""
    rows = [[(j, []) for j in range(len(heard) + 1)]]
    rows[0] = [(j, ["insertion"] * j) for j in range(len(heard) + 1)]
    for i, said in enumerate(truth, 1):
        row = [(i, ["deletion"] * i)]
        for j, got in enumerate(heard, 1):
            options = [(rows[i - 1][j][0] + 1, rows[i - 1][j][1] + ["deletion"]),
                       (row[j - 1][0] + 1, row[j - 1][1] + ["insertion"]),
                       (rows[i - 1][j - 1][0] + (said != got),
                        rows[i - 1][j - 1][1] + (["substitution"] if said != got else []))]
            row.append(min(options, key=lambda option: option[0]))
        rows.append(row)
    return rows[-1][-1][1]


def modelled_reading(truth: str, rates: dict[str, float], rng: random.Random) -> str:
    """The truth through an error model that knows nothing of which digits sound alike."""
    heard = []
    for digit in truth:
        roll = rng.random()
        if roll < rates["deletion"]:
            pass
        elif roll < rates["deletion"] + rates["substitution"]:
            heard.append(rng.choice([d for d in "0123456789" if d != digit]))
        else:
            heard.append(digit)
        if rng.random() < rates["insertion"]:
            heard.append(rng.choice("0123456789"))
    return "".join(heard)


def said(digits: str, language: str) -> str:
    words = {digit: word for word, digit in reversed(list(DIGITS[language].items()))}
    return " ".join(words[d] for d in digits)


def model_nbest_figures(language: str, lookup, waybills: list[str], rates: dict[str, float],
                        rng: random.Random) -> dict:
    """Top-1 vs ranked accuracy on error-model N-best lists (5 alternatives), callers their parcels' owners."""
    top1 = ranked = 0
    for waybill in waybills:
        truth = keyed_digits(waybill)
        alternatives = [said(modelled_reading(truth, rates, rng), language) for _ in range(5)]
        top1 += normalise(alternatives[0], language) == truth
        candidates = rank(alternatives, language, lookup, owner(waybill))
        ranked += bool(candidates) and candidates[0].waybill == waybill
    return {"model_nbest_items": len(waybills), "model_nbest_top1_exact_match": round(top1 / len(waybills), 3),
            "model_nbest_ranked_exact_match": round(ranked / len(waybills), 3)}


def owner(waybill: str) -> str:
    """The phone number a known parcel belongs to (one per parcel: the caller asking about it)."""
    return "139" + str(zlib.crc32(waybill.encode()) % 10 ** 8).zfill(8)


def neighbour(waybill: str, rng: random.Random) -> str:
    """A waybill one digit from `waybill` in its serial (as carriers issue them, in sequence); an
    S10 (EMS) number gets the check digit of its new serial."""
    if waybill.startswith("E") and waybill.endswith("CN"):
        serial = neighbour("00" + waybill[2:10], rng)[2:]
        return f"{waybill[:2]}{serial}{s10_check_digit(serial)}CN"
    position = rng.randrange(len(waybill) - 1, 1, -1)
    while not waybill[position].isdigit():
        position -= 1
    digit = rng.choice([d for d in "0123456789" if d != waybill[position]])
    return waybill[:position] + digit + waybill[position + 1:]


NEIGHBOURS_KNOWN = 5  # other customers' parcels one digit from each unknown true waybill


def false_correction_lookup(truths: list[str], total: int, rng: random.Random):
    """The database for the false-correction test: `total` waybills drawn like real ones, none of
    `truths`, but for each truth NEIGHBOURS_KNOWN neighbours owned by others and, for every other
    truth, one more that its caller (owner(truth)) owns. Returns (lookup, parcels held)."""
    unknown = set(truths)
    index: dict[str, list[ParcelRef]] = {}
    held: set[str] = set()

    def add(waybill: str, phone: str) -> bool:
        if waybill in unknown or waybill in held:
            return False
        held.add(waybill)
        index.setdefault(keyed_digits(waybill), []).append(ParcelRef(waybill, (phone,)))
        return True

    def add_neighbour(truth: str, phone: str | None) -> None:
        for _ in range(100):  # a fresh one: a neighbour drawn twice would be lost
            other = neighbour(truth, rng)
            if add(other, phone or owner(other)):
                return

    for n, truth in enumerate(truths):
        for _ in range(NEIGHBOURS_KNOWN):
            add_neighbour(truth, None)
        if n % 2 == 0:
            add_neighbour(truth, owner(truth))
    while len(held) < total:
        drawn = random_waybill(rng)
        add(drawn, owner(drawn))

    def lookup(digit_strings: set[str]) -> dict[str, list[ParcelRef]]:
        return {d: index[d] for d in digit_strings if d in index}

    return lookup, len(held)


def correction_outcome(alternatives, language: str, lookup, truth: str) -> str:
    """For a caller whose waybill `truth` is unknown: "false" when the ranker returns someone
    else's known parcel that was not the recogniser's best reading (a false correction),
    "misheard" when it was (a misrecognition no ranking can tell), "own" when it returns one of
    the caller's, else "". The best reading: the first alternative that fits a carrier's format
    (one too short or too long for any is not a waybill heard)."""
    ranked = rank(alternatives, language, lookup, owner(truth))
    if not ranked or not ranked[0].known:
        return ""
    if ranked[0].callers:
        return "own"
    readings = (normalise(a, language) for a in alternatives)
    best = next((r for r in readings if format_candidates(r)), "")
    return "misheard" if keyed_digits(ranked[0].waybill) == "".join(ch for ch in best if ch.isdigit()) else "false"


FC_RATE_SCALES = (1.0, 0.1)  # the engine's error rates, and a tenth of them (about one error a waybill)


def model_false_correction_figures(language: str, truths: list[str], rates: dict[str, float], total: int,
                                   rng: random.Random) -> dict:
    """False corrections on error-model lists (5 alternatives each), the truths unknown, at the
    engine's error rates and at FC_RATE_SCALES of them (where near misses are common)."""
    lookup, _ = false_correction_lookup(truths, total, rng)
    by_scale = {}
    for scale in FC_RATE_SCALES:
        scaled = {kind: rate * scale for kind, rate in rates.items()}
        outcomes = collections.Counter()
        for waybill in truths:
            truth = keyed_digits(waybill)
            alternatives = [said(modelled_reading(truth, scaled, rng), language) for _ in range(5)]
            outcomes[correction_outcome(alternatives, language, lookup, waybill)] += 1
        by_scale[str(scale)] = {"false_corrections": outcomes["false"], "misheard_as_known": outcomes["misheard"],
                                "own_parcel_corrections": outcomes["own"]}
    def rate(kind: str) -> float:  # at the scale where it is highest
        return round(max(counts[kind] for counts in by_scale.values()) / len(truths), 4)

    return {"model_false_correction_items": len(truths),
            "model_false_corrections_by_rate_scale": by_scale,
            "model_false_correction_rate": rate("false_corrections"),
            "model_misheard_as_known_rate": rate("misheard_as_known"),
            "model_own_parcel_correction_rate": rate("own_parcel_corrections")}


def build_lookup(true_waybills: list[str], total: int, rng: random.Random):
    """An in-memory index of `total` known waybills (the true ones among them), by keyed digits."""
    index: dict[str, list[ParcelRef]] = {}
    known = set(true_waybills)
    while len(known) < total:
        known.add(random_waybill(rng))
    for waybill in known:
        index.setdefault(keyed_digits(waybill), []).append(ParcelRef(waybill, (owner(waybill),)))

    def lookup(digit_strings: set[str]) -> dict[str, list[ParcelRef]]:
        return {d: index[d] for d in digit_strings if d in index}

    return lookup


def generated_items(n: int, language: str, rng: random.Random) -> list[tuple[str, bytes]]:
    from ivr.simulator import add_noise

    items = []
    for i in range(n):
        waybill = random_waybill(rng)
        rate = RATES_SPOKEN[i % len(RATES_SPOKEN)]
        snr = SNRS_DB[(i // len(RATES_SPOKEN)) % len(SNRS_DB)]
        samples, sample_rate = synthesize(spoken_digits(waybill, language), VOICES[language], rate)
        if snr is not None:
            samples = add_noise(samples, snr, seed=i)
        items.append((waybill, to_telephone(samples, sample_rate)))
    return items


def manifest_items(path: Path) -> list[tuple[str, bytes]]:
    """Recordings listed in a CSV (columns path, waybill; a path relative to the CSV's folder), as
    telephone audio. A bad row stops the bench with its line and why, before anything is measured."""
    items = []
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        if not {"path", "waybill"} <= set(reader.fieldnames or ()):
            sys.exit(f"{path}: the manifest needs the columns path and waybill (it has {reader.fieldnames})")
        for row in reader:
            audio = Path(row["path"] or "")
            audio = audio if audio.is_absolute() else path.parent / audio
            waybill = (row["waybill"] or "").strip().upper()
            try:
                if not waybill:
                    raise ValueError("no waybill")
                samples, rate = read_wav(audio.read_bytes())
            except (OSError, ValueError, EOFError, wave.Error) as error:
                sys.exit(f"{path}:{reader.line_num}: {audio}: {error}")
            items.append((waybill, to_telephone(samples, rate)))
    if not items:
        sys.exit(f"{path}: no recordings listed")
    return items


def decode(model, words, mulaw: bytes):
    """Feed 20 ms frames as a call would: (recognition, decode seconds, endpoint ms after speech,
    seconds of audio the decoder read: with the grammar it stops at its endpoint)."""
    from vosk import KaldiRecognizer

    if words is None:
        recognizer = KaldiRecognizer(model, 8000)
        recognizer.SetMaxAlternatives(5)
        stream = None
    else:
        stream = StreamRecognizer(model, words)
    audio = mulaw + b"\xff" * int(ENDPOINT_SILENCE_S * 8000)
    spoken = len(mulaw)
    started = time.perf_counter()
    result, endpoint_ms, read = None, None, 0
    for offset in range(0, len(audio), FRAME_BYTES):
        read = min(len(audio), offset + FRAME_BYTES)
        pcm = mulaw_decode(audio[offset:offset + FRAME_BYTES]).tobytes()
        if stream is None:
            recognizer.AcceptWaveform(pcm)
            continue
        result = stream.accept(pcm)
        if result is not None:
            endpoint_ms = max(0, offset + FRAME_BYTES - spoken) / 8
            break
    if stream is None:
        raw = json.loads(recognizer.FinalResult())
        texts = tuple(a["text"] for a in raw.get("alternatives", []) if a.get("text"))
        return texts, time.perf_counter() - started, None, read / 8000
    result = result or stream.finish()
    return result.alternatives, time.perf_counter() - started, endpoint_ms, read / 8000


def carrier_of(waybill: str) -> str:
    from tracking.carriers import carriers_accepting

    return carriers_accepting(waybill)[0].code


def seed_parcels(settings: dict, waybills: list[str]) -> None:
    """The parcels, each owned by its caller (owner()), in the app's database."""
    from app import create_app
    from database import new_session
    from tracking.importer import import_records

    app = create_app(settings)
    records = [{"waybill": w, "carrier": carrier_of(w), "status": "in_transit", "recipient_phone": owner(w),
                "recipient_name": "客户"} for w in waybills]
    with app.app_context():
        session = new_session()
        report = import_records(session, list(enumerate(records, start=1)))
        session.close()
    if report.problems:
        raise RuntimeError(f"parcels refused: {report.problems[:3]}")


def timed_call(base: str, language: str, waybill: str, answer: tuple[str, str], readback_start: str) -> dict:
    """One call through the simulator: key 1, then `answer`; how long from the answer's end on
    the socket (its last voiced frame or key) to the first frame of the hotline's reply."""
    from bench.servers import TOKEN
    from ivr.simulator import SimulatedCall

    events: list[tuple[str, float, str]] = []
    call = SimulatedCall(base, TOKEN, owner(waybill), language=language,
                         on_stream=lambda *event: events.append(event))
    call.run([("dtmf", "1"), answer])
    ends = [at for kind, at, _ in events if kind == "input_end"]
    if call.ended_by == "error" or len(ends) < 2:
        return {"error": call.error or f"the call ended ({call.ended_by}) before its answer was heard"}
    answered = ends[-1]
    reply = next((at for kind, at, _ in events if kind == "media" and at >= answered), None)
    said = next((name for kind, at, name in events if kind == "mark" and at >= answered
                 and name.startswith("say:")), "")
    if reply is None:
        return {"error": "no reply after the answer"}
    return {"ms": (reply - answered) * 1000, "readback": said.partition(":")[2].partition(":")[2].startswith(
        readback_start)}


def live_figures(args, items: list[tuple[str, bytes]], rng: random.Random) -> dict:
    """Read-back latency through the running app (see the method)."""
    from bench.figures import percentile
    from bench.servers import log_tail, scratch, served

    spoken = items[:args.live]
    keyed = [random_waybill(rng) for _ in spoken]
    readback_start = PromptCatalogue.load(args.lang).render(
        "confirm_waybill.track", {"waybill_digits": "1"}).split("1")[0].strip()
    with scratch("bench-speech-", HOTLINE_LANGUAGE=args.lang, SEED_DEMO_ON_FIRST_RUN="false") as place:
        seed_parcels(place.settings(HOTLINE_LANGUAGE=args.lang), [w for w, _ in spoken] + keyed)
        log_path = f"{place.folder}/server.log"
        results, baseline = [], []
        with served("app:create_app()", place.environment, 1, 8, log_path) as (_, base):
            for n, (waybill, mulaw) in enumerate(spoken):
                wav = Path(place.folder) / f"item{n}.wav"
                wav.write_bytes(write_wav(mulaw_decode(mulaw), 8000))
                results.append(timed_call(base, args.lang, waybill, ("audio", str(wav)), readback_start))
            for waybill in keyed:
                baseline.append(timed_call(base, args.lang, waybill, ("dtmf", keyed_digits(waybill) + "#"),
                                           readback_start))
        errors = [r["error"] for r in results + baseline if "error" in r]
        tail = log_tail(log_path, 1500) if errors else None

    def spread(values: list[float], name: str) -> dict:
        return {f"{name}_p50": round(statistics.median(values), 1) if values else None,
                f"{name}_p99": round(percentile(values, 0.99), 1) if values else None}

    readbacks = [r["ms"] for r in results if r.get("readback")]
    keyed_readbacks = [r["ms"] for r in baseline if r.get("readback")]
    figures = {
        "live_calls": len(results), "readbacks": len(readbacks),
        **spread(readbacks, "readback_ms"),
        "retries": sum(1 for r in results if "ms" in r and not r["readback"]),
        **spread([r["ms"] for r in results if "ms" in r and not r["readback"]], "reply_ms"),
        "baseline_keyed_calls": len(baseline), "baseline_keyed_readbacks": len(keyed_readbacks),
        **spread(keyed_readbacks, "baseline_keyed_readback_ms"),
        "live_errors": len(errors),
    }
    if errors:
        figures["first_live_error"] = errors[0]
        figures["server_log_tail"] = tail
    return figures


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def concurrent_streams(model, words, items, threads: int) -> float:
    """Audio seconds decoded per wall second with `threads` calls at once: real-time streams."""
    audio_seconds = sum(len(mulaw) / 8000 for _, mulaw in items)
    started = time.perf_counter()
    workers = [threading.Thread(target=lambda: [decode(model, words, m) for _, m in items]) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * audio_seconds / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default="ko-KR")
    parser.add_argument("--manifest", type=Path)
    parser.add_argument("--n", type=int, default=36)
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--nbest", type=int, default=500, help="simulated N-best lists to rank")
    parser.add_argument("--fc-parcels", type=int, default=5000,
                        help="waybills in the false-correction database (the true ones left out)")
    parser.add_argument("--live", type=int, default=6, help="items also played as calls through the running app")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    pool = ModelPool.load([args.lang], tempfile.mkdtemp())
    model = pool.get(args.lang)
    if model is None:
        sys.exit(f"no speech model for {args.lang}: fetch it or set VOSK_MODEL_PATH_{args.lang.replace('-', '_').upper()}")
    rng = random.Random(args.seed)
    items = manifest_items(args.manifest) if args.manifest else generated_items(args.n, args.lang, rng)
    lookup = build_lookup([w for w, _ in items], args.parcels, rng)
    unknown_lookup, fc_parcels = false_correction_lookup([w for w, _ in items], args.fc_parcels, rng)
    words = grammar_words(args.lang, "waybill")
    baseline_hits = grammar_hits = ranked_hits = 0
    digit_errors = digit_total = 0
    decode_seconds = audio_seconds = 0.0
    engine_pairs, corrections = [], collections.Counter()
    for waybill, mulaw in items:
        truth = keyed_digits(waybill)
        free, _, _, _ = decode(model, None, mulaw)
        baseline_hits += bool(free) and normalise(free[0], args.lang) == truth
        alternatives, seconds, _, read_s = decode(model, words, mulaw)
        decode_seconds += seconds
        audio_seconds += read_s
        heard = normalise(alternatives[0], args.lang) if alternatives else ""
        heard_digits = "".join(c for c in heard if c.isdigit())
        grammar_hits += heard_digits == truth
        engine_pairs.append((truth, heard_digits))
        digit_errors += edit_distance(heard_digits, truth)
        digit_total += len(truth)
        candidates = rank(alternatives, args.lang, lookup, owner(waybill))
        best = candidates[0].waybill if candidates else ""
        ranked_hits += best == waybill
        # The same N-best, the true waybill unknown, its neighbours known (see the method).
        corrections[correction_outcome(alternatives, args.lang, unknown_lookup, waybill)] += 1

    count = len(items)
    nbest_truths = [random_waybill(rng) for _ in range(args.nbest)]
    nbest_lookup = build_lookup(nbest_truths, args.parcels, rng)
    rates = error_rates(engine_pairs)
    model_corrections = model_false_correction_figures(args.lang, nbest_truths, rates, args.fc_parcels, rng)
    engine_false_rate = round(corrections["false"] / count, 4)
    figures = {
        "method": method(__doc__),
        "lang": args.lang,
        "model": str(pool.paths[args.lang]),
        "items": count,
        "parcels": args.parcels,
        "baseline_exact_match": round(baseline_hits / count, 3),
        "grammar_exact_match": round(grammar_hits / count, 3),
        "exact_match": round(ranked_hits / count, 3),
        "engine_nbest_top1_exact_match": round(grammar_hits / count, 3),
        "engine_nbest_ranked_exact_match": round(ranked_hits / count, 3),
        "false_correction_parcels": fc_parcels,
        "engine_false_corrections": corrections["false"],
        "engine_false_correction_rate": engine_false_rate,
        "engine_misheard_as_known_rate": round(corrections["misheard"] / count, 4),
        "engine_own_parcel_correction_rate": round(corrections["own"] / count, 4),
        **model_corrections,
        "false_correction_rate": max(engine_false_rate, model_corrections["model_false_correction_rate"]),
        "engine_error_rates": {kind: round(rate, 4) for kind, rate in rates.items()},
        "digit_error_rate": round(digit_errors / max(digit_total, 1), 3),
        "rtf": round(decode_seconds / audio_seconds, 4),
        "concurrent_realtime_streams": round(concurrent_streams(model, words, items[:6], 2 * (os.cpu_count() or 1)), 1),
        **model_nbest_figures(args.lang, nbest_lookup, nbest_truths, rates, rng),
        **(live_figures(args, items, rng) if args.live else {}),
    }
    print_figures(figures, args.json)
    return figures


def failed(figures: dict) -> bool:
    return bool(figures["false_correction_rate"] > 0 or figures.get("live_errors"))


if __name__ == "__main__":
    sys.exit(1 if failed(main()) else 0)
