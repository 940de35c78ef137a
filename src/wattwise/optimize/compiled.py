"""Graph-compiled decoding of the built-in model with a static key/value cache (lossless).

At batch 1 a decoding step of a small model is dominated by per-op dispatch: on the lab's
2-vCPU machine a step of the 0.70 M-parameter built-in model takes ~350 us of CPU time of which
the matrix products are ~100 us. Compiling the step removes most of the rest:

- **Static cache.** Keys and values live in one preallocated tensor per layer,
  ``[2, B, H, max_seq + slack, head_dim]``; a pass writes its new positions in place
  (``index_copy_``) and attends over the whole buffer through an additive mask (key position
  <= query position). Every pass of one width has the same shapes, so one graph serves a whole
  generation (a growing cache would recompile per length).
- **torch.compile / TorchInductor** (``fullgraph``, static shapes) with *freezing* (weights
  folded in as constants), the *C++ wrapper* (the generated kernel calls run from C++, not
  Python) and *max-autotune* (each matrix product benchmarked against inductor's C++ GEMM
  templates, which inline small products instead of calling a library). This is the serving
  recipe of gpt-fast and of Hugging Face's static cache, on CPU.

The weights are unchanged, so quality is the model's own: greedy tokens equal the eager
model's up to floating-point ties (the lab checks its prompts; the tests check a few). The
prompt is prefilled by the eager model (one pass per generation, any prompt length) and its
keys/values are copied into the static cache.

Compiling needs a C++ compiler (``g++`` by default, ``torch._inductor.config.cpp.cxx``);
without one :class:`CompiledDecoder` raises :class:`TechniqueSkipped`. A shape seen for the
first time compiles on its first call (seconds to tens of seconds; cached on disk by inductor
under ``$TORCHINDUCTOR_CACHE_DIR``, default ``/tmp/torchinductor_$USER``);
:meth:`CompiledDecoder.warm` compiles ahead, which is what the lab counts as the technique's
optimisation energy.

:func:`compiled_speculative_generate` combines this with the lossless speculative decoding of
:mod:`wattwise.optimize.speculative`: the verification pass is compiled too, at a fixed width
(drafts are padded; padded positions are never accepted, and their cache entries lie beyond
every later query's mask until overwritten).
"""

from __future__ import annotations

import shutil
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from wattwise.optimize.model import StepHook, TinyLM, greedy_loop
from wattwise.optimize.speculative import NgramDraft, SpecStats, speculative_loop
from wattwise.optimize.types import TechniqueSkipped

#: TorchInductor options of :class:`CompiledDecoder` (see the module docstring).
COMPILE_OPTIONS: dict[str, Any] = {"freezing": True, "cpp_wrapper": True, "max_autotune": True}

#: Widths (tokens per pass) of the compiled verification pass of speculative decoding: the
#: narrowest that holds the draft is used. Compiled, a pass's cost grows quickly with its width
#: once dispatch is gone (CPU us per pass on the lab's machine, built-in model: width 1: 147,
#: 2: 159, 4: 187, 6: 253, 8: 387, 11: 453), so drafts are cut to 3 tokens: with (4, 8) or
#: (4, 11) the longer drafts' extra accepted tokens did not pay for the wider passes.
DEFAULT_VERIFY_WIDTHS = (1, 4)

#: Inductor settings that keep autotuning from writing its benchmark tables to stderr (the
#: lab's progress and tables go there).
QUIET_OPTIONS: dict[str, Any] = {
    "autotune_num_choices_displayed": 0,
    "max_autotune_report_choices_stats": False,
}

#: Compiled graphs (decoders x shapes) one process may hold before compiling fails.
RECOMPILE_LIMIT = 64

#: Why compiled decoding is skipped without a C++ compiler (and what to do).
NO_CXX = (
    "graph compilation (TorchInductor) needs a C++ compiler and none was found (g++); "
    "install one (Debian: apt install g++) or leave out 'compiled'"
)

CompiledFn = Callable[[torch.Tensor, torch.Tensor, list[torch.Tensor]], torch.Tensor]


def cxx_compiler() -> str | None:
    """The C++ compiler TorchInductor would use (path), or None when there is none."""
    import torch._inductor.config as inductor_config

    names = inductor_config.cpp.cxx
    for name in names if isinstance(names, tuple) else (names,):
        if name and (found := shutil.which(name)):
            return found
    return None


class StaticStep(nn.Module):
    """One forward pass of a :class:`TinyLM` over ``ids`` [B, t] at positions ``pos`` [t] with
    the static cache ``kv`` (per layer [2, B, H_layer, cache_len, D], updated in place);
    returns the greedy next token after each position, [B, t]. Positions past the model's
    context (padding of a verification pass near its end) reuse the last position embedding:
    their outputs are never used."""

    def __init__(self, model: TinyLM, cache_len: int) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("key_pos", torch.arange(cache_len), persistent=False)

    def forward(self, ids: torch.Tensor, pos: torch.Tensor, kv: list[torch.Tensor]) -> torch.Tensor:
        m = self.model
        b, t = ids.shape
        d = m.cfg.head_dim
        x = m.embed(ids) + m.pos(pos.clamp(max=m.cfg.max_seq - 1))[None]
        key_pos: torch.Tensor = self.key_pos  # type: ignore[assignment]
        mask = torch.where(key_pos[None, :] <= pos[:, None], 0.0, float("-inf")).to(x.dtype)
        for i, blk in enumerate(m.layers()):
            h = blk.attn.n_heads
            qkv = blk.attn.qkv(blk.norm1(x)).view(b, t, 3, h, d).permute(2, 0, 3, 1, 4)
            kv[i].index_copy_(3, pos, qkv[1:])
            y = F.scaled_dot_product_attention(qkv[0], kv[i][0], kv[i][1], attn_mask=mask)
            x = x + blk.attn.o(y.transpose(1, 2).reshape(b, t, h * d))
            x = x + blk.mlp(blk.norm2(x))
        out: torch.Tensor = m.lm_head(m.norm(x)).argmax(-1)
        return out


class CompiledDecoder:
    """Compiled forward passes of ``model`` with a static cache, one graph per (batch, width).

    ``options``: TorchInductor options (default :data:`COMPILE_OPTIONS`); ``slack``: extra
    cache positions for the padding of verification passes (the widest pass minus one).
    ``compile_s`` accumulates the wall time of first calls (compilation)."""

    def __init__(
        self,
        model: nn.Module,
        *,
        slack: int = max(DEFAULT_VERIFY_WIDTHS) - 1,
        options: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(model, TinyLM):
            raise TechniqueSkipped(
                "compiled decoding here drives the built-in model's static cache; "
                "run it with --model builtin"
            )
        if cxx_compiler() is None:
            raise TechniqueSkipped(NO_CXX)
        self.model = model
        self.cache_len = model.cfg.max_seq + slack
        self.options = dict(COMPILE_OPTIONS if options is None else options)
        self._step = StaticStep(model, self.cache_len).eval()
        self._fns: dict[tuple[int, int], CompiledFn] = {}
        self.compile_s = 0.0

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """The (batch, width) shapes compiled so far."""
        return list(self._fns)

    def new_cache(self, batch: int) -> list[torch.Tensor]:
        """Zeroed static caches, one [2, batch, H_layer, cache_len, D] tensor per layer, in the
        model's dtype (fp32; bf16 for a bf16 copy)."""
        cfg = self.model.cfg
        dtype = self.model.embed.weight.dtype
        with torch.inference_mode():  # inference tensors, as the compiled graphs expect
            return [
                torch.zeros(2, batch, h, self.cache_len, cfg.head_dim, dtype=dtype)
                for h in cfg.heads
            ]

    def __call__(
        self, ids: torch.Tensor, pos: torch.Tensor, kv: list[torch.Tensor]
    ) -> torch.Tensor:
        if not torch.is_inference_mode_enabled():  # the graphs were compiled for it
            with torch.inference_mode():
                return self(ids, pos, kv)
        # Dynamo guards on whether inputs are inference tensors and on their strides (even of
        # size-1 dimensions): other inputs would compile a second graph, silently without this
        # decoder's options. Copies are cheap for the token ids and positions; the cache must
        # come from new_cache().
        if not ids.is_inference() or ids.stride() != (ids.shape[1], 1):
            ids = ids.clone(memory_format=torch.contiguous_format)
        if not pos.is_inference() or pos.stride() != (1,):
            pos = pos.clone(memory_format=torch.contiguous_format)
        if not all(c.is_inference() for c in kv):
            raise ValueError("the cache must come from CompiledDecoder.new_cache()")
        key = (int(ids.shape[0]), int(ids.shape[1]))
        fn = self._fns.get(key)
        if fn is not None:
            return fn(ids, pos, kv)
        fn = self._fns[key] = torch.compile(self._step, fullgraph=True, dynamic=False)
        import torch._dynamo.config as dynamo_config
        import torch._inductor.config as inductor_config

        t0 = time.perf_counter()
        try:
            # As a config patch, not torch.compile(options=...): freezing is decided before
            # the per-call options apply, so passed as an option it is silently ignored.
            # Dynamo keeps the graphs of every decoder and shape on StaticStep.forward's code
            # object, 8 by default; a process may build more decoders (the lab: three shapes).
            limit = max(dynamo_config.recompile_limit, RECOMPILE_LIMIT)
            patch = inductor_config.patch({**QUIET_OPTIONS, **self.options})
            with patch, dynamo_config.patch(recompile_limit=limit), warnings.catch_warnings():
                # torch's own autotuner touches a deprecated storage API; not the user's concern
                warnings.filterwarnings("ignore", "TypedStorage is deprecated", UserWarning)
                return fn(ids, pos, kv)
        except Exception as exc:  # inductor raises many kinds; all mean "cannot compile here"
            del self._fns[key]
            raise TechniqueSkipped(
                f"graph compilation failed ({type(exc).__name__}: {str(exc)[:200]}); "
                "leave out 'compiled'"
            ) from exc
        finally:
            self.compile_s += time.perf_counter() - t0

    @torch.inference_mode()
    def warm(self, shapes: Iterable[tuple[int, int]]) -> None:
        """Compile the passes of (batch, width) ``shapes`` now (one call each)."""
        for batch, width in shapes:
            if (batch, width) in self._fns:
                continue
            kv = self.new_cache(batch)
            ids = torch.zeros(batch, width, dtype=torch.long)
            self(ids, torch.arange(width), kv)

    def prefill(self, prompt: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Eager prefill of ``prompt`` [B, T]: (greedy next token [B, 1], static cache)."""
        logits, cache = self.model.step(prompt, None, 0, last_only=True)
        kv = self.new_cache(prompt.shape[0])
        t = prompt.shape[1]
        for static, c in zip(kv, cache, strict=True):
            assert c is not None
            static[:, :, :, :t] = c
        return logits[:, -1].argmax(-1, keepdim=True), kv


def _check_fits(model: TinyLM, prompt: torch.Tensor, new_tokens: int) -> None:
    if prompt.shape[1] + new_tokens > model.cfg.max_seq:
        raise ValueError("prompt + new tokens exceed the model's context")


@torch.inference_mode()
def compiled_generate(
    decoder: CompiledDecoder, prompt: torch.Tensor, new_tokens: int, on_step: StepHook | None
) -> torch.Tensor:
    """Greedy decoding of ``new_tokens`` after ``prompt`` [B, T] through ``decoder``'s compiled
    one-token pass (any batch; a new batch size compiles on first use)."""
    _check_fits(decoder.model, prompt, new_tokens)
    kv: list[torch.Tensor] = []
    pos = torch.tensor([prompt.shape[1]])  # one tensor, advanced in place: no new guard

    def prefill() -> torch.Tensor:
        nonlocal kv
        nxt, kv = decoder.prefill(prompt)
        return nxt

    def step(nxt: torch.Tensor, _pos: int) -> torch.Tensor:
        out = decoder(nxt, pos, kv)
        pos.add_(1)
        return out

    return greedy_loop(prompt, new_tokens, on_step, prefill, step)


@torch.inference_mode()
def compiled_speculative_generate(
    decoder: CompiledDecoder,
    prompt: torch.Tensor,
    new_tokens: int,
    on_step: StepHook | None,
    draft: NgramDraft,
    widths: tuple[int, ...] = DEFAULT_VERIFY_WIDTHS,
    stats: SpecStats | None = None,
) -> torch.Tensor:
    """Speculative greedy decoding (see :func:`~wattwise.optimize.speculative.
    speculative_generate`) whose verification passes are ``decoder``'s compiled passes of the
    narrowest width in ``widths`` that holds the draft (at most ``max(widths) - 1`` draft
    tokens). Batches of more than one row use :func:`compiled_generate`."""
    model = decoder.model
    if prompt.shape[0] != 1 or prompt.shape[1] < 2:
        return compiled_generate(decoder, prompt, new_tokens, on_step)
    _check_fits(model, prompt, new_tokens)
    widths = tuple(sorted(widths))
    if widths[-1] - 1 > decoder.cache_len - model.cfg.max_seq:
        raise ValueError("the decoder's cache slack is smaller than the widest pass")
    kv: list[torch.Tensor] = []

    def prefill() -> int:
        nonlocal kv
        nxt, kv = decoder.prefill(prompt)
        return int(nxt[0, 0])

    def verify(row: list[int], pos: int) -> list[int]:
        width = next(w for w in widths if w >= len(row))
        padded = row + [0] * (width - len(row))  # predictions past the draft are not used
        ids = torch.tensor([padded], dtype=prompt.dtype)
        pred: list[int] = decoder(ids, torch.arange(pos, pos + width), kv)[0].tolist()
        return pred  # cache entries past the accepted ones are masked until overwritten

    return speculative_loop(
        prompt, new_tokens, on_step, draft, widths[-1] - 1, stats, prefill, verify
    )
