"""Redis keys, built in one place with the hotline's namespace (shared by every floor)."""

PREFIX = "hotline"


def key_for(kind: str, ident: str = "") -> str:
    return f"{PREFIX}:{kind}:{ident}" if ident else f"{PREFIX}:{kind}"
