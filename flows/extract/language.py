"""An article's language, identified from its text with py3langid (the langid.py model, shipped
inside the package: nothing is downloaded).

The text decides when the model is confident: pages often declare a template's `lang` whatever
the article's language. The declared `lang` counts when the text is too short or mixed to tell.

The model is loaded when this module is imported (a few seconds of CPU, once): extraction workers
are forked from a server that has imported flows.extract.article, so they share that one copy.
Only the first `SAMPLE_CHARS` characters are classified: past a few hundred characters of prose
the answer no longer changes, and the cost grows with the text.
"""

from __future__ import annotations

import re

from py3langid.langid import MODEL_FILE, LanguageIdentifier

SAMPLE_CHARS = 600
# Normalized probability below which the text alone does not decide.
MIN_CONFIDENCE = 0.8
UNDETERMINED = "und"
_DECLARED = re.compile(r"^([a-z]{2})(?:$|[-_])")

_IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify_language(text: str) -> str | None:
    """The ISO 639-1 code (or the model's code) of the text's language, or None when unsure."""
    sample = " ".join(text[:SAMPLE_CHARS].split())
    if not sample:
        return None
    code, probability = _IDENTIFIER.classify(sample)
    return str(code) if probability >= MIN_CONFIDENCE else None


def page_language(declared: str | None, text: str) -> str:
    """The identified language, else the declared one (`lang="pt-BR"` gives "pt"), else "und"."""
    identified = identify_language(text)
    if identified is not None:
        return identified
    match = _DECLARED.match((declared or "").strip().lower())
    return match.group(1) if match else UNDETERMINED
