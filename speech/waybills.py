"""From a recogniser's N-best list to the waybill the caller most likely said.

1. Each alternative is normalised to characters (speech.numbers).
2. Candidates are the strings that fit a carrier's format (with its check digit, for S10);
   callers often skip the letters, so lettered formats are tried on bare digits too.
3. Candidates are ranked against the parcel database: a known waybill beats an unknown one,
   the caller's own parcel beats another's. When no alternative names a known parcel, the
   waybills one digit away are looked up (a substitution, a dropped or an extra digit); digits
   the recogniser often confuses in that language cost less than others. Such a correction is
   only made toward a parcel of the caller's own number: a caller whose waybill is not in the
   database must never hear another customer's parcel. For the same reason, when the caller's
   number is known, another customer's parcel is taken only from the best reading that fits a
   carrier's format, never from a later alternative (bench.speech found about 3 % of unknown
   waybills ranked as someone else's, at a tenth of its engine's error rates, before this rule).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from speech.numbers import normalise
from tracking.carriers import carriers_accepting, keyed_digits

LETTER_PREFIXES = ("SF", "YT", "JD", "JT")
# Digit pairs a recogniser confuses, per language (heard -> what was probably said).
CONFUSABLE = {
    "zh-CN": {"1": "7", "7": "1", "6": "9", "9": "6", "4": "0", "0": "4"},
    "en-US": {"5": "9", "9": "5", "0": "4", "4": "0", "3": "8", "8": "3"},
    "ko-KR": {"1": "27", "2": "1", "7": "12", "3": "4", "4": "3", "5": "69", "6": "5", "9": "5"},
}
KNOWN_BONUS = 2.0
CALLER_BONUS = 1.0
CONFUSABLE_EDIT_COST = 0.4
OTHER_EDIT_COST = 0.8
LETTER_MISMATCH_COST = 0.3


@dataclass(frozen=True)
class ParcelRef:
    waybill: str
    phones: tuple[str, ...]


# keyed digit strings -> the parcels whose waybill has those digits
Lookup = Callable[[set[str]], dict[str, list[ParcelRef]]]


@dataclass(frozen=True)
class Candidate:
    waybill: str
    score: float
    known: bool
    callers: bool
    edits: int
    heard: str

    def as_dict(self) -> dict:
        return {"waybill": self.waybill, "score": round(self.score, 3), "known": self.known,
                "callers": self.callers, "edits": self.edits, "heard": self.heard}


def format_candidates(chars: str) -> list[str]:
    """Strings built from what was heard that fit some carrier's format."""
    digits = "".join(ch for ch in chars if ch.isdigit())
    options = [chars, digits] + [prefix + digits for prefix in LETTER_PREFIXES]
    seen, fitting = set(), []
    for option in options:
        if option and option not in seen and carriers_accepting(option):
            seen.add(option)
            fitting.append(option)
    return fitting


def one_edit_away(digits: str) -> dict[str, int]:
    """Digit strings one substitution, deletion or insertion away -> edit count (1)."""
    variants = {}
    for i in range(len(digits)):
        variants[digits[:i] + digits[i + 1:]] = 1
        for d in "0123456789":
            if d != digits[i]:
                variants[digits[:i] + d + digits[i + 1:]] = 1
    for i in range(len(digits) + 1):
        for d in "0123456789":
            variants[digits[:i] + d + digits[i:]] = 1
    variants.pop(digits, None)
    return variants


def _edit_cost(heard: str, said: str, language: str) -> float:
    if len(heard) == len(said):
        confusable = CONFUSABLE.get(language, {})
        for h, s in zip(heard, said, strict=True):
            if h != s:
                return CONFUSABLE_EDIT_COST if s in confusable.get(h, "") else OTHER_EDIT_COST
    return OTHER_EDIT_COST


def rank(
    alternatives: Iterable[str], language: str, lookup: Lookup, caller_phone: str = "",
) -> list[Candidate]:
    """Candidates for an N-best list (best first), best candidate first."""
    heard = [normalise(text, language) for text in alternatives]
    heard = [h for h in heard if h]
    if not heard:
        return []
    asr_score = {h: 1.0 / (1 + i) for i, h in reversed(list(enumerate(heard)))}

    exact: dict[str, tuple[str, float]] = {}  # candidate -> (heard, asr score)
    for h in heard:
        said_letters = _letters(h)
        for option in format_candidates(h) or [h]:
            # Dropping or changing letters the caller said makes an option less likely.
            penalty = LETTER_MISMATCH_COST if said_letters and _letters(option) != said_letters else 0.0
            exact.setdefault(option, (h, asr_score[h] - penalty))
    digit_strings = {keyed_digits(c) for c in exact} | {"".join(ch for ch in h if ch.isdigit()) for h in heard}
    found = lookup({d for d in digit_strings if d})

    # Someone else's parcel is taken only from the best plausible reading (the first alternative
    # that fits a format): named by a later one, it is more likely a misrecognition of an unknown
    # waybill than a correction of it.
    first_plausible = next((h for h in heard if format_candidates(h)), None) if caller_phone else None
    candidates = {}
    for option, (source, score) in exact.items():
        refs = [r for r in found.get(keyed_digits(option), []) if _compatible(r.waybill, option)
                and not (first_plausible and source != first_plausible and caller_phone not in r.phones)]
        for ref in refs:
            _keep(candidates, _candidate(ref, score, 0, source, caller_phone))
        if not refs and carriers_accepting(option):
            _keep(candidates, Candidate(option, score, False, False, 0, source))
    if not any(c.known for c in candidates.values()):
        for h in heard:
            digits = "".join(ch for ch in h if ch.isdigit())
            near = one_edit_away(digits)
            for variant, refs in lookup(set(near)).items():
                cost = _edit_cost(digits, variant, language)
                # The confidence rule: a correction is a guess, made only toward the caller's own
                # parcel, so that a caller whose waybill is unknown never hears someone else's
                # parcel that happens to be one digit away.
                for ref in refs:
                    if caller_phone and caller_phone in ref.phones:
                        _keep(candidates, _candidate(ref, asr_score[h] - cost, 1, h, caller_phone))
    return sorted(candidates.values(), key=lambda c: (-c.score, c.waybill))


def _letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalpha())


def _compatible(waybill: str, option: str) -> bool:
    """An option with letters names only waybills with those letters."""
    return not _letters(option) or _letters(waybill) == _letters(option)


def _candidate(ref: ParcelRef, score: float, edits: int, heard: str, caller_phone: str) -> Candidate:
    callers = bool(caller_phone) and caller_phone in ref.phones
    total = score + KNOWN_BONUS + (CALLER_BONUS if callers else 0.0)
    return Candidate(ref.waybill, total, True, callers, edits, heard)


def _keep(candidates: dict[str, Candidate], candidate: Candidate) -> None:
    best = candidates.get(candidate.waybill)
    if best is None or candidate.score > best.score:
        candidates[candidate.waybill] = candidate
