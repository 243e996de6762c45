"""Exceptions of the flows package."""


class FlowError(Exception):
    """A flow file is invalid, or an event does not fit the step a call is on."""

    def __init__(self, problem: str, *, file: str = "", step: str = ""):
        self.file, self.step, self.problem = file, step, problem
        where = ": ".join(part for part in (file, f"step {step!r}" if step else "") if part)
        super().__init__(f"{where}: {problem}" if where else problem)


class PromptError(KeyError):
    """A prompt key or a value it needs is missing from a language's catalogue."""

    def __str__(self) -> str:
        return str(self.args[0])
