"""The ``llama_cpp.Llama`` a model worker serves with.

Only the worker imports this module: it loads llama_cpp.
"""

from __future__ import annotations

from purpose_desktop.models.grammar_sampler import GrammarCheckingLlama
from purpose_desktop.models.prompt_cache import PrefixCachingLlama


class WorkerLlama(PrefixCachingLlama, GrammarCheckingLlama):
    """Keeps evaluated prompt prefixes (:mod:`prompt_cache`) and checks a grammar against the
    chosen token before filtering the vocabulary with it (:mod:`grammar_sampler`)."""
