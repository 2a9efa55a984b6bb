"""How common a description's words are: the term-frequency adjustment of linking.

Dealer descriptions are templates filled with a car's facts ("1970 Chevrolet Chevelle, fair
condition, 149k miles, numbers matching."): thousands of listings share every word but the facts.
A word is weighted by how rare it is (its inverse document frequency, as Splink's and dedupe's
term-frequency adjustments do), so template words neither make two descriptions look alike
(``scoring``) nor become blocking keys (``keys.evidence``): the rare facts do.

Document frequencies are counted per chunk (the listings a processor links in one transaction),
not kept in a shared table. A chunk is a fixed slice of its file, so every replica, in any order,
weighs a record's words alike and links it alike; nothing is written per chunk, so replicas do not
queue on the rows of the template words; and a chunk of a few hundred listings already tells
template words (in a large share of them) from facts (in a handful). A small chunk has no such
evidence: ``PRIOR`` listings that hold none of its words are counted with it, so its words then
weigh about alike, and what keeps two cars filled into one template apart is that their figures
contradict (``scoring``: a mileage, a year), which no weight can outvote. The weights are the
chunk's alone, never the index's: a replica that meets the file first or last weighs it alike.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import repeat

from rapidfuzz import fuzz

PRIOR = 100  # listings counted with every chunk, holding none of its words
COMMON_SHARE = 0.2  # a word in more than this share of a chunk's listings is a template word
COMMON_MIN = 20  # ... once it is in at least this many (a small chunk has no template words)
KEY_WORDS = 4  # blocking keys per description: its rarest words


TYPO_MATCH = 75.0  # two words this alike (rapidfuzz ratio) are one word mistyped


def typo_of(word: str, other: str) -> bool:
    """Return whether two different words are one word mistyped (letters only: 141k is not 116k)."""
    return (
        len(word) >= 4
        and len(other) >= 4
        and abs(len(word) - len(other)) <= 2
        and word.isalpha()
        and other.isalpha()
        and fuzz.ratio(word, other, score_cutoff=TYPO_MATCH) > 0
    )


@lru_cache(maxsize=1 << 14)  # a small vocabulary: template words, features, figures
def _names_typo(word: str, name: str) -> bool:
    """Return whether a word is a typo of a word of the car's name."""
    return any(typo_of(word, part) for part in name.split())


@lru_cache(maxsize=1 << 12)  # a chunk's records and their candidates (~1 KB an entry)
def words(description: str, name: str) -> frozenset[str]:
    """Return a description's distinct words, without the car's name (``name``: make and model).

    Every listing of a model names it, so those words (and their typos) tell one car of the model
    from another no better than the make and model fields do.
    """
    found = set(description.split()).difference(name.split())
    found.difference_update([word for word in found if _names_typo(word, name)])
    return frozenset(found)


class Rarity:
    """Word weights of one chunk: ``ln((listings + PRIOR) / listings holding the word)``.

    A word the chunk does not hold counts as held by one listing (the other side's own).
    """

    __slots__ = ("counts", "listings", "top", "weights")

    def __init__(self, counts: Counter[str], listings: int) -> None:
        """Weigh words by ``counts``: in how many of ``listings`` listings each appears."""
        self.counts = counts
        self.listings = listings
        self.top = math.log(listings + PRIOR)
        self.weights = {word: self.top - math.log(count) for word, count in counts.items()}

    @classmethod
    def of(cls, described: Sequence[frozenset[str]]) -> Rarity:
        """Return the weights measured on a chunk's listings (each one's ``words``)."""
        counts: Counter[str] = Counter()
        for found in described:
            counts.update(found)
        return cls(counts, len(described))

    def weight(self, word: str) -> float:
        """Return a word's weight (the highest for a word the chunk does not hold)."""
        return self.weights.get(word, self.top)

    def mass(self, found: Iterable[str]) -> float:
        """Return the summed weight of these words."""
        return sum(map(self.weights.get, found, repeat(self.top)))

    def common(self, word: str) -> bool:
        """Return whether a word is template text in this chunk (never a blocking key)."""
        count = self.counts.get(word, 0)
        return count >= COMMON_MIN and count > COMMON_SHARE * self.listings

    def of_words(self, found: Iterable[str]) -> Weights:
        """Return a listing's own weights: these words' weights in this chunk."""
        return Weights((word, self.weight(word)) for word in found)

    def rarest(self, found: Iterable[str], k: int = KEY_WORDS) -> list[str]:
        """Return the ``k`` rarest of these words that are not template text.

        Ties (all words of a small chunk) go to words holding a digit (years, mileage, engine
        codes: facts), then to longer words, then alphabetically: the same order in any chunk.
        """
        ranked = sorted(
            (self.counts.get(word, 0), not any(c.isdigit() for c in word), -len(word), word)
            for word in found
            if not self.common(word)
        )
        return [entry[3] for entry in ranked[:k]]


class Weights(dict[str, float]):
    """A listing's own word weights, fixed by the chunk it was linked in (``Rarity.of_words``).

    A pair is scored with each side's own weights, so its score does not depend on which of the
    two was linked first (replicas process files in any order). Its keys are the listing's
    description words (``words``): a known listing keeps no other copy of them.
    """

    __slots__ = ("_total",)  # no per-instance __dict__: tens of thousands are cached

    def weight(self, word: str) -> float:
        """Return the word's weight (the uniform one for a word the listing does not hold)."""
        return self.get(word, UNIFORM.top)

    def mass(self, found: Iterable[str]) -> float:
        """Return the summed weight of these words."""
        return sum(map(self.get, found, repeat(UNIFORM.top)))

    @property
    def total(self) -> float:
        """Return the summed weight of all its words (computed once: it is never changed)."""
        try:
            return self._total
        except AttributeError:
            self._total: float = sum(self.values())
            return self._total

    def columns(self) -> tuple[list[float], list[str]]:
        """Return the known index's ``word_weights`` and ``words``: sorted words, in one order."""
        ordered = sorted(self)
        return [self[word] for word in ordered], ordered

    @classmethod
    def read(cls, found: frozenset[str], stored: list[float] | None) -> Weights:
        """Return the weights stored for these words (uniform when none were stored)."""
        if stored is None or len(stored) != len(found):
            return cls((word, UNIFORM.top) for word in found)
        return cls(zip(sorted(found), stored, strict=True))


UNIFORM = Rarity(Counter(), 0)
"""No evidence of rarity: every word weighs the same."""
