"""Loading flows from YAML and checking them strictly before any call uses them."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from flows.engine import STEP_KINDS, Flow
from flows.errors import FlowError
from flows.places import has_chinese
from flows.prompts import flatten

FLOWS_DIR = Path(__file__).parent

# Keys each step kind may carry, besides the kind itself and the common ones.
COMMON_KEYS = {"attempts", "exhausted", "no_input", "invalid", "description", "set"}
KIND_KEYS = {
    "say": {"next"},
    "menu": set(),
    "collect": {"next"},
    "record": {"next"},
    "run": {"outcomes"},
    "branch": {"cases", "default"},
    "transfer": {"prompt"},
    "hangup": {"prompt"},
}
MENU_KEYS = {"prompt", "options", "timeout"}
COLLECT_KEYS = {"prompt", "into", "min_digits", "max_digits", "finish_on_key", "timeout", "speech"}
RECORD_KEYS = {"prompt", "into", "max_seconds", "silence_seconds", "timeout"}
SPEECH_GRAMMARS = {"waybill", "digits"}
VALID_KEYS = set("0123456789#")
TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")


def load_flow(path: Path) -> Flow:
    file = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise FlowError(f"cannot read flow: {error}", file=file) from None
    if not isinstance(data, dict):
        raise FlowError("a flow is a mapping with name, start and steps", file=file)
    unknown = set(data) - {"name", "start", "steps", "defaults", "description"}
    if unknown:
        raise FlowError(f"unknown top-level key(s): {', '.join(sorted(unknown))}", file=file)
    steps = data.get("steps")
    if not isinstance(steps, dict) or not steps:
        raise FlowError("'steps' must be a non-empty mapping", file=file)
    flow = Flow(
        name=str(data.get("name") or path.stem), start=str(data.get("start", "")),
        steps={str(name): spec for name, spec in steps.items()},
        defaults=data.get("defaults") or {}, file=file,
    )
    check_structure(flow)
    return flow


def load_flows(directory: Path = FLOWS_DIR) -> dict[str, Flow]:
    flows = {}
    for path in sorted(directory.glob("*.yaml")):
        flow = load_flow(path)
        flows[flow.name] = flow
    return flows


def targets(flow: Flow, name: str) -> list[tuple[str, str]]:
    """(label, target step) pairs leaving a step, for validation and diagrams."""
    spec = flow.steps[name]
    kind = flow.kind(name)
    found = []
    if kind == "menu":
        found += [(key, option["goto"]) for key, option in spec["menu"]["options"].items()]
    if kind == "run":
        found += list(spec["outcomes"].items())
    if kind == "branch":
        found += list(spec["cases"].items()) + [("default", spec["default"])]
    if "next" in spec:
        found.append(("", spec["next"]))
    if "exhausted" in spec:
        found.append(("exhausted", spec["exhausted"]))
    return [(str(label), str(target)) for label, target in found]


def check_structure(flow: Flow) -> None:
    if flow.start not in flow.steps:
        raise FlowError(f"start step {flow.start!r} is not defined", file=flow.file)
    for name, spec in flow.steps.items():
        _check_step(flow, name, spec)
    for name in flow.steps:
        for label, target in targets(flow, name):
            if target not in flow.steps:
                where = f" ({label})" if label else ""
                raise FlowError(f"goes to undefined step {target!r}{where}", file=flow.file, step=name)
    unreachable = set(flow.steps) - _reachable(flow)
    if unreachable:
        raise FlowError(f"unreachable step(s): {', '.join(sorted(unreachable))}", file=flow.file)


def _check_step(flow: Flow, name: str, spec) -> None:
    def fail(problem: str):
        raise FlowError(problem, file=flow.file, step=name)

    if not isinstance(spec, dict):
        fail("a step is a mapping")
    kinds = [k for k in STEP_KINDS if k in spec]
    if len(kinds) != 1:
        fail(f"needs exactly one of {', '.join(STEP_KINDS)}; has {kinds or 'none'}")
    kind = kinds[0]
    extra = set(spec) - {kind} - COMMON_KEYS - KIND_KEYS[kind]
    if extra:
        fail(f"unknown key(s) for a {kind} step: {', '.join(sorted(map(str, extra)))}")
    if ("attempts" in spec) != ("exhausted" in spec):
        fail("'attempts' and 'exhausted' go together")
    if "attempts" in spec and (not isinstance(spec["attempts"], int) or spec["attempts"] < 1):
        fail("'attempts' must be a positive integer")
    if kind in ("say", "collect", "record") and "next" not in spec:
        fail(f"a {kind} step needs 'next'")
    if kind == "menu":
        menu = spec["menu"]
        if not isinstance(menu, dict) or not {"prompt", "options"} <= set(menu) or set(menu) - MENU_KEYS:
            fail(f"menu needs prompt and options (allowed: {', '.join(sorted(MENU_KEYS))})")
        bad = [str(k) for k in menu["options"] if str(k) not in VALID_KEYS]
        if bad:
            fail(f"menu keys must be single digits or #; got {', '.join(bad)}")
        # YAML reads `1:` as an int; callers press strings. Options become {goto, set}.
        # defaults.options (e.g. 0: agent) belong to every menu that does not use the key itself.
        own = {str(k): _option(v, fail) for k, v in menu["options"].items()}
        menu["options"] = {**{str(k): _option(v, fail) for k, v in _default_options(flow, fail).items()}, **own}
    if "set" in spec and not isinstance(spec["set"], dict):
        fail("'set' must be a mapping of variable: value")
    if kind == "collect":
        collect = spec["collect"]
        if not isinstance(collect, dict) or not {"prompt", "into"} <= set(collect) or set(collect) - COLLECT_KEYS:
            fail(f"collect needs prompt and into (allowed: {', '.join(sorted(COLLECT_KEYS))})")
        if collect.get("speech") not in (None, *SPEECH_GRAMMARS):
            fail(f"unknown speech grammar {collect['speech']!r} (known: {', '.join(sorted(SPEECH_GRAMMARS))})")
    if kind == "record":
        record = spec["record"]
        if not isinstance(record, dict) or not {"prompt", "into"} <= set(record) or set(record) - RECORD_KEYS:
            fail(f"record needs prompt and into (allowed: {', '.join(sorted(RECORD_KEYS))})")
        if not all(isinstance(record.get(k, 1), int) and record.get(k, 1) > 0 for k in RECORD_KEYS - {"prompt", "into"}):
            fail("record's max_seconds, silence_seconds and timeout are positive whole seconds")
    if kind == "run" and (not isinstance(spec.get("outcomes"), dict) or not spec["outcomes"]):
        fail("a run step needs 'outcomes': outcome -> step")
    if kind == "branch" and (not isinstance(spec.get("cases"), dict) or "default" not in spec):
        fail("a branch step needs 'cases' and 'default'")
    if kind == "branch":
        spec["cases"] = {str(k): str(v) for k, v in spec["cases"].items()}


def _default_options(flow: Flow, fail) -> dict:
    options = flow.defaults.get("options") or {}
    if not isinstance(options, dict) or any(str(k) not in VALID_KEYS for k in options):
        fail("defaults.options maps single keys to steps, e.g. {0: agent}")
    return options


def _option(value, fail) -> dict:
    if isinstance(value, str):
        return {"goto": value}
    if isinstance(value, dict) and isinstance(value.get("goto"), str) and set(value) <= {"goto", "set"} \
            and isinstance(value.get("set", {}), dict):
        return {"goto": value["goto"], **({"set": value["set"]} if "set" in value else {})}
    fail(f"a menu option is a step name or {{goto: step, set: {{...}}}}; got {value!r}")


def _reachable(flow: Flow) -> set[str]:
    seen, todo = set(), [flow.start]
    while todo:
        name = todo.pop()
        if name in seen or name not in flow.steps:
            continue
        seen.add(name)
        todo += [target for _label, target in targets(flow, name)]
    return seen


def prompt_keys(flow: Flow) -> list[tuple[str, str]]:
    """(step, prompt key) pairs a flow can play, including the defaults."""
    found = [("defaults", flow.defaults[k]) for k in ("no_input", "invalid") if flow.defaults.get(k)]
    for name, spec in flow.steps.items():
        kind = flow.kind(name)
        keys = []
        if kind == "say":
            keys += spec["say"] if isinstance(spec["say"], list) else [spec["say"]]
        if kind in ("menu", "collect", "record"):
            keys.append(spec[kind]["prompt"])
        if kind in ("transfer", "hangup") and spec.get("prompt"):
            keys += spec["prompt"] if isinstance(spec["prompt"], list) else [spec["prompt"]]
        keys += [spec[k] for k in ("no_input", "invalid") if spec.get(k)]
        found += [(name, key) for key in keys]
    return found


def check_references(flow: Flow, effects: set[str], catalogues: dict) -> None:
    """Effects must exist, and every prompt must exist in every language's catalogue."""
    for name, spec in flow.steps.items():
        if "run" in spec and spec["run"] not in effects:
            raise FlowError(f"unknown effect {spec['run']!r} (known: {', '.join(sorted(effects))})",
                            file=flow.file, step=name)
    for step, key in prompt_keys(flow):
        for catalogue in catalogues.values():
            if not catalogue.has(key):
                raise FlowError(f"prompt {key!r} is missing from {catalogue.file}", file=flow.file, step=step)
    for catalogue in catalogues.values():
        for step, options in catalogue.menu_words.items():
            if step in flow.steps and "menu" in flow.steps[step]:
                unknown = set(options) - set(flow.steps[step]["menu"]["options"])
                if unknown:
                    raise FlowError(f"{catalogue.file} gives words for keys {', '.join(sorted(unknown))} "
                                    "that the menu does not have", file=flow.file, step=step)


def check_words(catalogues: dict) -> None:
    """A catalogue for callers of another language leaves no Chinese in its words: Chinese
    names reach them as values, in pinyin (flows/places.py), never as text of the prompt."""
    for catalogue in catalogues.values():
        if catalogue.language.lower().startswith("zh"):
            continue
        words = {**catalogue.prompts, **{f"formats.{key}": text for key, text in flatten(catalogue.formats).items()},
                 **{f"menu_words.{step}.{key}": " ".join(ws)
                    for step, options in catalogue.menu_words.items() for key, ws in options.items()}}
        for key, text in words.items():
            if has_chinese(text):
                raise FlowError(f"Chinese left in the {catalogue.language} catalogue: {text[:60]!r}",
                                file=catalogue.file, step=key)


def mermaid(flow: Flow) -> str:
    # Default options are drawn once, from "any menu", not from each of a score of menus.
    defaults = {(str(k), v if isinstance(v, str) else v["goto"]) for k, v in (flow.defaults.get("options") or {}).items()}
    lines = ["flowchart TD", f"    start((start)) --> {flow.start}"]
    lines += [f"    any_menu{{{{any menu}}}} -->|{key}| {target}" for key, target in sorted(defaults)]
    for name in flow.steps:
        kind = flow.kind(name)
        lines.append(f"    {name}[\"{name}<br/><i>{kind}</i>\"]")
        for label, target in targets(flow, name):
            if kind == "menu" and (label, target) in defaults:
                continue
            arrow = f"-->|{label}|" if label else "-->"
            lines.append(f"    {name} {arrow} {target}")
        if kind in ("transfer", "hangup"):
            lines.append(f"    {name} --> {kind}_end(({kind}))")
    return "\n".join(lines) + "\n"
