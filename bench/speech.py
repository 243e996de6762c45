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
known waybills, the caller being the true parcel's owner (engine_nbest_*: top-1 vs ranked on
the engine's own lists). The engine's digit substitution, insertion and deletion rates are
measured from its top alternatives (aligned to the truth); model_nbest_* ranks lists made by an
error model independent of the ranker: every digit substituted (by a uniformly drawn other
digit), deleted, or followed by an inserted uniform digit at those rates, five alternatives per
item. false_correction_rate: items whose true waybill is not in the database (a neighbour one
digit away is, someone else's) for which the ranker returns a known waybill. rtf: decode time
over the audio the decoder actually read (up to its endpoint, no padding counted).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

sys.path.insert(0, os.getcwd())

from bench.figures import print_figures  # noqa: E402
from flows.prompts import PromptCatalogue  # noqa: E402
from speech.audio import FRAME_BYTES, mulaw_decode, read_wav, to_telephone  # noqa: E402
from speech.models import ModelPool  # noqa: E402
from speech.numbers import DIGITS, grammar_words, normalise  # noqa: E402
from speech.recognizer import StreamRecognizer  # noqa: E402
from speech.tts import VOICES, PromptCache, prerender, synthesize  # noqa: E402
from speech.waybills import ParcelRef, rank  # noqa: E402
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
    """A waybill one digit from `waybill` in its serial (as carriers issue them, in sequence)."""
    position = rng.randrange(len(waybill) - 1, 1, -1)
    while not waybill[position].isdigit():
        position -= 1
    digit = rng.choice([d for d in "0123456789" if d != waybill[position]])
    return waybill[:position] + digit + waybill[position + 1:]


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
    items = []
    with open(path, newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            audio = Path(row["path"])
            audio = audio if audio.is_absolute() else path.parent / audio
            samples, rate = read_wav(audio.read_bytes())
            items.append((row["waybill"].strip().upper(), to_telephone(samples, rate)))
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
    words = grammar_words(args.lang, "waybill")
    cache = PromptCache(Path(tempfile.mkdtemp()))
    catalogue = PromptCatalogue.load(args.lang)
    # A running hotline has the read-back's words and characters cached (speech render-prompts).
    prerender(catalogue, cache, {}, "speech")
    cache.audio(catalogue.render("confirm_waybill.track", {"waybill_digits": random_waybill(rng)}), args.lang)

    baseline_hits = grammar_hits = ranked_hits = 0
    digit_errors = digit_total = 0
    decode_seconds = audio_seconds = 0.0
    readback_ms, engine_pairs, false_corrections = [], [], 0
    for waybill, mulaw in items:
        truth = keyed_digits(waybill)
        free, _, _, _ = decode(model, None, mulaw)
        baseline_hits += bool(free) and normalise(free[0], args.lang) == truth
        alternatives, seconds, endpoint_ms, read_s = decode(model, words, mulaw)
        decode_seconds += seconds
        audio_seconds += read_s
        heard = normalise(alternatives[0], args.lang) if alternatives else ""
        heard_digits = "".join(c for c in heard if c.isdigit())
        grammar_hits += heard_digits == truth
        engine_pairs.append((truth, heard_digits))
        digit_errors += edit_distance(heard_digits, truth)
        digit_total += len(truth)
        started = time.perf_counter()
        candidates = rank(alternatives, args.lang, lookup, owner(waybill))
        best = candidates[0].waybill if candidates else ""
        ranked_hits += best == waybill
        # The same audio and N-best, the true waybill unknown and a neighbour of it known.
        unknown_lookup = build_lookup([neighbour(waybill, rng)], 0, rng)
        corrected = rank(alternatives, args.lang, unknown_lookup, "13000000000")
        false_corrections += bool(corrected) and corrected[0].known
        # The read-back prompt, as the live path speaks it.
        cache.audio(catalogue.render("confirm_waybill.track", {"waybill_digits": best or waybill}), args.lang)
        readback_ms.append((endpoint_ms or ENDPOINT_SILENCE_S * 1000) + (time.perf_counter() - started) * 1000)

    count = len(items)
    nbest_truths = [random_waybill(rng) for _ in range(args.nbest)]
    nbest_lookup = build_lookup(nbest_truths, args.parcels, rng)
    rates = error_rates(engine_pairs)
    figures = {
        "method": " ".join(__doc__.split('Method (printed with the figures as "method"):')[1].split()),
        "lang": args.lang,
        "model": str(pool.paths[args.lang]),
        "items": count,
        "parcels": args.parcels,
        "baseline_exact_match": round(baseline_hits / count, 3),
        "grammar_exact_match": round(grammar_hits / count, 3),
        "exact_match": round(ranked_hits / count, 3),
        "engine_nbest_top1_exact_match": round(grammar_hits / count, 3),
        "engine_nbest_ranked_exact_match": round(ranked_hits / count, 3),
        "false_correction_rate": round(false_corrections / count, 3),
        "engine_error_rates": {kind: round(rate, 4) for kind, rate in rates.items()},
        "digit_error_rate": round(digit_errors / max(digit_total, 1), 3),
        "rtf": round(decode_seconds / audio_seconds, 4),
        "concurrent_realtime_streams": round(concurrent_streams(model, words, items[:6], 2 * (os.cpu_count() or 1)), 1),
        "speech_end_to_readback_ms_p50": round(statistics.median(readback_ms), 1),
        **model_nbest_figures(args.lang, nbest_lookup, nbest_truths, rates, rng),
    }
    print_figures(figures, args.json)
    return figures


if __name__ == "__main__":
    main()
