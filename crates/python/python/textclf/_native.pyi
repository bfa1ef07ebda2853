"""The compiled half of textclf (PyO3). Use the functions in `textclf` instead."""

from os import PathLike
from typing import Any, Callable, List, Optional, Sequence, Union

__version__: str

class TextclfError(Exception):
    """An error textclf reported; the message is the one the command line prints."""

class UsageError(TextclfError):
    """Arguments the command line refuses (what `textclf` exits with status 2 for)."""

def run(
    argv: Sequence[str],
    on_event: Optional[Callable[[str, Any, Any, Any], Any]] = None,
) -> Optional[str]: ...
def main(argv: Sequence[str]) -> int: ...
def set_child_command(command: Sequence[str]) -> None: ...

class Model:
    @staticmethod
    def load(path: Union[str, "PathLike[str]"], int8: bool = False) -> "Model": ...
    @property
    def labels(self) -> List[str]: ...
    @property
    def kind(self) -> str: ...
    @property
    def warnings(self) -> List[str]: ...
    def predict(self, texts: Sequence[str]) -> List[str]: ...
    def predict_proba(self, texts: Sequence[str]) -> List[List[float]]: ...
