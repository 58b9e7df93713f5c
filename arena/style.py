"""Style features of a response, the covariates of style control (as Chatbot Arena counts them:
length, markdown headers, list items, bold spans). Pure: no Django."""
import re
from dataclasses import dataclass

_HEADER = re.compile(r"^#{1,6}\s", re.MULTILINE)
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


@dataclass(frozen=True)
class StyleFeatures:
    chars: int = 0
    headers: int = 0
    lists: int = 0
    bold: int = 0

    def __add__(self, other: "StyleFeatures") -> "StyleFeatures":
        return StyleFeatures(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def astuple(self) -> tuple[int, int, int, int]:
        return (self.chars, self.headers, self.lists, self.bold)


def style_features(text: str) -> StyleFeatures:
    return StyleFeatures(
        chars=len(text),
        headers=len(_HEADER.findall(text)),
        lists=len(_LIST.findall(text)),
        bold=len(_BOLD.findall(text)),
    )
