"""The built-in model's generation path and training schedule; the default spec's sizes."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

import torch

from wattwise.optimize.builtin import SPECS
from wattwise.optimize.model import LMConfig, TinyLM, count_params, generate
from wattwise.optimize.quantize import quantize_dynamic_int8
from wattwise.optimize.train import _fraction_done

CFG = LMConfig(vocab_size=50, d_model=32, n_layers=2, n_heads=4, d_mlp=48, max_seq=24)


def _greedy_without_cache(model: TinyLM, prompt: torch.Tensor, n: int) -> torch.Tensor:
    ids = prompt
    with torch.inference_mode():
        for _ in range(n):
            nxt = model(ids)[:, -1].argmax(-1, keepdim=True)
            ids = torch.cat([ids, nxt], dim=1)
    return ids


def test_cached_generation_equals_recomputing_the_whole_sequence() -> None:
    torch.manual_seed(1)
    model = TinyLM(CFG).eval()
    prompt = torch.randint(0, CFG.vocab_size, (3, 5))
    assert torch.equal(generate(model, prompt, 10), _greedy_without_cache(model, prompt, 10))


def test_last_only_logits_match_the_full_forward() -> None:
    torch.manual_seed(2)
    model = TinyLM(CFG).eval()
    ids = torch.randint(0, CFG.vocab_size, (2, 7))
    with torch.inference_mode():
        last, cache = model.step(ids, None, 0, last_only=True)
        full = model(ids)
    assert last.shape == (2, 1, CFG.vocab_size)
    assert torch.allclose(last[:, 0], full[:, -1], atol=1e-5)
    assert len(cache) == CFG.n_layers
    kv = cache[0]
    assert kv is not None and kv.shape == (2, 2, CFG.n_heads, 7, CFG.head_dim)


def test_quantized_model_generates_through_the_same_path() -> None:
    torch.manual_seed(3)
    model = TinyLM(CFG).eval()
    q = quantize_dynamic_int8(model)
    assert isinstance(q, TinyLM)
    out = generate(q, torch.randint(0, CFG.vocab_size, (1, 4)), 6)
    assert out.shape == (1, 10)


def test_learning_rate_schedule_follows_steps_or_time() -> None:
    assert _fraction_done(50, 100, 0.0, None) == 0.5
    assert _fraction_done(10, None, 3.0, 4.0) == 0.75
    assert _fraction_done(90, 100, 1.0, 10.0) == 0.9  # the bound that is nearer wins
    assert _fraction_done(5, None, 1.0, None) is None


def test_default_student_is_clearly_smaller_than_the_teacher() -> None:
    spec = SPECS["default"]
    teacher = count_params(TinyLM(spec.config))
    student = count_params(TinyLM(spec.student))
    assert student <= teacher / 4
    # the model is trained on its whole context, so generated positions were trained
    assert spec.seq == spec.config.max_seq >= spec.prompt_len + spec.new_tokens


def test_speculative_decoding_gives_the_greedy_text_with_fewer_forward_passes() -> None:
    from wattwise.optimize.speculative import NgramDraft, speculative_generate

    torch.manual_seed(4)
    model = TinyLM(CFG).eval()
    prompt = torch.randint(0, CFG.vocab_size, (1, 4))
    greedy = generate(model, prompt, 16)
    # a draft that knows the model's own continuation: most drafts are accepted, so several
    # tokens are verified per forward pass (the masked multi-token path)
    draft = NgramDraft.build(greedy[0].repeat(3), CFG.vocab_size)
    calls: list[int] = []
    step = model.step

    def counting_step(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return step(*args, **kwargs)  # type: ignore[arg-type]

    setattr(model, "step", counting_step)  # noqa: B010
    steps: list[float] = []
    out = speculative_generate(model, prompt, 16, steps.append, draft)
    assert torch.equal(out, greedy)
    assert len(steps) == 16 and len(calls) < 16
    # a draft that knows nothing useful still gives the greedy text
    noise = NgramDraft.build(torch.randint(0, CFG.vocab_size, (500,)), CFG.vocab_size)
    setattr(model, "step", step)  # noqa: B010
    assert torch.equal(speculative_generate(model, prompt, 16, None, noise), greedy)
    # batches decode plainly
    two = torch.randint(0, CFG.vocab_size, (2, 4))
    assert torch.equal(speculative_generate(model, two, 5, None, noise), generate(model, two, 5))
