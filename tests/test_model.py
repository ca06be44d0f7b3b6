"""The LTP model: equality with Hugging Face, real removal vs a masked reference, the maths."""

import pytest
import torch

from conftest import ARCHS, MORE_ARCHS, ragged_batch as batch, tiny_hf
from ltp.flops import layer_macs
from ltp.model import LTPConfig, LTPForSequenceClassification, importance_scores


def pruning_model(kind, n_ref=12, score="sink", length_half=None, **cfg):
    """Peaky random attention and thresholds near the mean score, so some tokens go."""
    hf = tiny_hf(kind, initializer_range=0.4)
    model = LTPForSequenceClassification(hf, LTPConfig(mode="hard", n_ref=n_ref, final_threshold=0.0,
                                                       score=score, length_half=length_half, **cfg)).eval()
    with torch.no_grad():  # off 1/n_ref: under the sink score a lone content token scores exactly that
        model.threshold_offsets.fill_(0.9 / n_ref)
    return model


# --------------------------------------------------------------------------- pruning off


@pytest.mark.parametrize("kind", ARCHS + MORE_ARCHS)
def test_mode_none_equals_huggingface(kind):
    hf = tiny_hf(kind, initializer_range=0.4)  # large weights: logits of order 1, so a missing piece shows
    model = LTPForSequenceClassification(hf, LTPConfig(mode="none"))
    ids, mask = batch(hf)
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask).logits
        out = model(ids, mask)
    assert ref.abs().max() > 0.5
    torch.testing.assert_close(out.logits, ref, atol=1e-5, rtol=1e-5)
    assert out.alive.shape == (3, 3, 12)
    assert torch.equal(out.tokens_alive[:, 2], torch.full((3,), 6))  # nothing pruned, padding never alive
    torch.testing.assert_close(out.flops, out.flops_unpruned)


# --------------------------------------------------------------------------- hard mode


def masked_reference(model: LTPForSequenceClassification, ids, mask):
    """Hard pruning by masks only (pruned tokens masked as keys and queries), full length,
    every token through every FFN; the scores written out by hand; layer 1 prunes with
    prune_first_layer, and each pruning layer keeps its min_keep best content tokens."""
    ad, theta, n_ref = model.adapter, model.thresholds(), model.ltp_config.n_ref
    first, k = model.ltp_config.prune_first_layer, model.ltp_config.min_keep
    hidden = ad.embed(ids)
    bias = ad.position_bias(hidden)
    alive = mask.bool()
    special = torch.zeros_like(alive)
    special[:, 0] = True
    special[torch.arange(len(ids)), mask.sum(1) - 1] = True
    n, h = mask.sum(1).float(), model.ltp_config.length_half
    rho = (n / (n + h)) / (n_ref / (n_ref + h)) if h else torch.ones_like(n)  # length-aware thresholds
    for l, layer in enumerate(ad.layers):
        add = (~alive)[:, None, None, :].float() * torch.finfo(torch.float32).min
        attn_out, probs = ad.attend(layer, hidden, add, bias)
        heads = probs.shape[1]
        received = (probs * alive[:, None, :, None]).sum((1, 2)) / heads
        if model.ltp_config.score == "paper":
            scores = received / n_ref
        else:  # content tokens rescaled to carry the whole mass: their mean is 1 / n_ref
            content = alive & ~special
            scores = received * content.sum(1, keepdim=True) / ((received * content).sum(1, keepdim=True) * n_ref)
        if l > 0 or first:
            content = alive & ~special
            best = torch.zeros_like(alive)
            for b in range(len(ids)):  # the k best content tokens, one row at a time
                idx = content[b].nonzero().flatten()
                best[b, idx[scores[b, idx].argsort(descending=True, stable=True)[:k]]] = True
            alive = alive & (scores >= theta[l] * rho[:, None]) | best
            alive[:, 0] = True
        hidden = ad.feed_forward(layer, attn_out)
    return ad.classify(hidden), alive


@pytest.mark.parametrize("score,length_half,first,k", [("sink", None, False, 0), ("paper", None, False, 0),
                                                      ("sink", 6.0, False, 0), ("sink", None, True, 0),
                                                      ("sink", 6.0, True, 1)])
@pytest.mark.parametrize("kind", ARCHS)
def test_hard_removal_equals_masked_reference(kind, score, length_half, first, k):
    model = pruning_model(kind, score=score, length_half=length_half, prune_first_layer=first, min_keep=k)
    ids, mask = batch(model.hf)
    with torch.no_grad():
        out = model(ids, mask)
        ref_logits, ref_alive = masked_reference(model, ids, mask)
    alive_last = out.alive[-1]
    assert torch.equal(alive_last, ref_alive)
    # the test means something only if some, but not all, tokens were removed
    assert (alive_last.sum(1) < mask.sum(1)).any() and (alive_last.sum(1) > 1).any()
    if first:  # layer 1 itself removed tokens
        assert (out.alive[0].sum(1) < mask.sum(1)).any()
    torch.testing.assert_close(out.logits, ref_logits, atol=1e-4, rtol=0)
    assert (out.flops < out.flops_unpruned).all()


@pytest.mark.parametrize("kind", ARCHS)
def test_batched_hard_equals_per_example(kind):
    model = pruning_model(kind)
    ids, mask = batch(model.hf)
    with torch.no_grad():
        out = model(ids, mask)
        for i in range(ids.shape[0]):
            n = int(mask[i].sum())
            one = model(ids[i : i + 1, :n], mask[i : i + 1, :n])
            torch.testing.assert_close(one.logits[0], out.logits[i], atol=1e-5, rtol=0)
            assert torch.equal(one.alive[:, 0], out.alive[:, i, :n])
            torch.testing.assert_close(one.scores[:, 0], out.scores[:, i, :n], atol=1e-5, rtol=0)
            assert one.flops[0] == out.flops[i]


@pytest.mark.parametrize("kind", ARCHS)
def test_cls_always_kept_and_padding_never_alive(kind):
    model = pruning_model(kind)
    with torch.no_grad():
        model.threshold_offsets.fill_(10.0)  # a threshold nobody reaches
    ids, mask = batch(model.hf)
    with torch.no_grad():
        out = model(ids, mask)
    assert torch.equal(out.tokens_alive[1:], torch.ones(2, 3, dtype=torch.long))
    assert out.alive[:, :, 0].all()
    assert not (out.alive & ~mask.bool()).any()
    assert out.last_hidden_state.shape[1] == 1


def test_layer_zero_never_prunes():
    model = pruning_model("bert")
    with torch.no_grad():
        model.threshold_offsets.fill_(10.0)
    ids, mask = batch(model.hf)
    with torch.no_grad():
        out = model(ids, mask)
    assert torch.equal(out.alive[0], mask.bool())


# --------------------------------------------------------------------------- maths


def test_importance_score_by_hand():
    # B=1, H=2, t=3; position 2 is padding (not alive)
    a = torch.tensor([[[[0.5, 0.5, 0.0], [0.2, 0.8, 0.0], [0.3, 0.3, 0.4]],
                       [[1.0, 0.0, 0.0], [0.4, 0.6, 0.0], [0.1, 0.1, 0.8]]]])
    alive = torch.tensor([[True, True, False]])
    s = importance_scores(a, alive, n_ref=4)
    # key 0: heads sum over alive queries (rows 0, 1): (0.5 + 0.2) + (1.0 + 0.4) = 2.1 -> 2.1 / (2 * 4)
    # key 1: (0.5 + 0.8) + (0.0 + 0.6) = 1.9 -> 1.9 / 8
    torch.testing.assert_close(s, torch.tensor([[2.1 / 8, 1.9 / 8, 0.0]]))


def test_flops_formula_by_hand():
    d, d_ff = 4, 16
    # attention: 4*16*3 + 2*4*9 = 192 + 72 = 264; ffn: 2*4*16*2 = 256
    assert layer_macs(torch.tensor(3), torch.tensor(2), d, d_ff).item() == 264 + 256


@pytest.mark.parametrize("kind", ARCHS)
def test_flops_record_matches_counts(kind):
    model = pruning_model(kind)
    ids, mask = batch(model.hf)
    with torch.no_grad():
        out = model(ids, mask)
    d, d_ff, L = model.hidden_size, model.intermediate_size, model.num_layers
    n_in = mask.sum(1)
    counts = [n_in] + [out.alive[l].sum(1) for l in range(L)]
    # the first release's accounting: every survivor through every FFN
    macs = sum(layer_macs(counts[l], counts[l + 1], d, d_ff) for l in range(L))
    torch.testing.assert_close(out.flops_all_tokens, 2 * macs)
    torch.testing.assert_close(out.flops_unpruned_all_tokens, 2 * L * layer_macs(n_in, n_in, d, d_ff))
    # honest: the last FFN runs for [CLS] alone, in the pruned and the unpruned count
    one = torch.ones_like(n_in)
    honest = macs - layer_macs(counts[L - 1], counts[L], d, d_ff) + layer_macs(counts[L - 1], one, d, d_ff)
    torch.testing.assert_close(out.flops, 2 * honest)
    base = (L - 1) * layer_macs(n_in, n_in, d, d_ff) + layer_macs(n_in, one, d, d_ff)
    torch.testing.assert_close(out.flops_unpruned, 2 * base)
    assert out.last_hidden_state.shape[1] == 1  # and that is what runs: the last FFN for [CLS] alone
    with torch.no_grad():
        assert model(ids, mask, mode="none").last_hidden_state.shape[1] == 1


@pytest.mark.parametrize("kind", ARCHS)
def test_regulariser_gradient_reaches_thresholds(kind):
    hf = tiny_hf(kind)
    model = LTPForSequenceClassification(hf, LTPConfig(mode="soft", n_ref=12, temperature=1e-2))
    model.set_mode("soft")
    model.train()
    ids, mask = batch(hf)
    out = model(ids, mask, labels=torch.tensor([0, 1, 2]))
    assert out.mask_loss is not None and out.soft_masks is not None
    out.mask_loss.backward()
    grad = model.threshold_offsets.grad
    assert grad is not None and (grad[1:-1] != 0).all()
    # d(mask_loss)/d(theta) < 0: gradient descent raises the thresholds, i.e. prunes more
    assert grad[1:-1].lt(0).all()
    assert grad[0] == 0  # layer 0 never prunes
    assert grad[-1] == 0  # the last layer's pruning saves no FLOPs (its FFN runs for [CLS] alone)


@pytest.mark.parametrize("kind", ARCHS)
def test_soft_mode_multiplies_outputs_by_mask(kind):
    """What really enters layer l+1 (seen by a hook on its attention) is layer l's FFN output
    times m^l = sigmoid((s - theta) / T)."""
    hf = tiny_hf(kind, initializer_range=0.4, num_hidden_layers=4)
    model = LTPForSequenceClassification(hf, LTPConfig(mode="soft", n_ref=12, temperature=0.02, final_threshold=0.0, length_half=None,
                                                       soft_drop_below=0.0)).eval()
    with torch.no_grad():
        model.threshold_offsets.fill_(1.0 / 12)
    ids, mask = batch(hf)
    entering = {}
    hooks = [layer.attention.register_forward_pre_hook(lambda mod, args, l=l: entering.setdefault(l, args[0]))
             for l, layer in enumerate(model.adapter.layers)]
    ffn_out = {}
    orig = model.adapter.feed_forward
    model.adapter.feed_forward = lambda layer, x: ffn_out.setdefault(len(ffn_out), orig(layer, x))
    try:
        with torch.no_grad():
            out = model(ids, mask)
    finally:
        for h in hooks:
            h.remove()
        model.adapter.feed_forward = orig
    m = out.soft_masks
    expected = torch.sigmoid((out.scores[1:] - model.thresholds()[1:, None, None]) / 0.02) * mask.bool()
    expected[:, :, 0] = 1.0
    torch.testing.assert_close(m[1:], expected, atol=1e-5, rtol=0)
    assert ((m[1:-1] > 0.05) & (m[1:-1] < 0.95)).any()  # fractional masks: a missing scale would show
    for l in range(1, model.num_layers - 1):
        torch.testing.assert_close(entering[l + 1], ffn_out[l] * m[l][..., None], atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", ARCHS)
def test_unpadded_sentence_scores_equal_padded_to_n_ref(kind):
    model = pruning_model(kind, n_ref=40)
    ids, _ = batch(model.hf, b=1, t=12)
    padded = torch.full((1, 40), model.hf.config.pad_token_id)
    padded[0, :12] = ids[0]
    pmask = torch.zeros(1, 40, dtype=torch.long)
    pmask[0, :12] = 1
    with torch.no_grad():
        a = model(ids)
        b = model(padded, pmask)
    torch.testing.assert_close(a.scores, b.scores[:, :, :12], atol=1e-6, rtol=0)
    assert torch.equal(a.alive, b.alive[:, :, :12])
    torch.testing.assert_close(a.logits, b.logits, atol=1e-5, rtol=0)


def test_config_validation_messages():
    with pytest.raises(ValueError, match="use one of"):
        LTPConfig(mode="medium")
    with pytest.raises(ValueError, match="n_ref"):
        LTPConfig(n_ref=0)
    assert LTPConfig(n_ref=256).final_threshold == pytest.approx(0.005)


@pytest.mark.parametrize("kind", ARCHS)
def test_each_mode_runs_with_its_records(kind):
    model = pruning_model(kind)
    model.ltp_config.topk_keep = [1.0, 0.5, 0.25]
    ids, mask = batch(model.hf)
    with torch.no_grad():
        outs = {m: model(ids, mask, mode=m) for m in ("none", "soft", "hard", "topk")}
    for mode, out in outs.items():
        assert out.logits.shape == (3, 3) and torch.isfinite(out.logits).all(), mode
        assert out.alive.shape == out.scores.shape == (3, 3, 12), mode
        assert out.last_hidden_state.shape == (3, 1, model.hidden_size), mode
        assert (out.soft_masks is not None) == (mode == "soft") == (out.mask_loss is not None), mode
    assert (outs["hard"].tokens_alive[-1] < mask.sum(1)).any()  # removal really happened
    assert (outs["hard"].flops < outs["none"].flops).any() and (outs["topk"].flops < outs["none"].flops).all()


@pytest.mark.parametrize("kind", ARCHS)
def test_topk_mode_keeps_fixed_fraction_of_highest_scores(kind):
    model = pruning_model(kind)
    model.ltp_config.topk_keep = [1.0, 0.5, 0.25]
    model.set_mode("topk")
    ids, mask = batch(model.hf)
    with torch.no_grad():
        out = model(ids, mask)
    real = mask.sum(1)
    expected = [real, torch.ceil(0.5 * real), torch.ceil(0.25 * real)]
    for layer in range(1, 3):
        assert torch.equal(out.tokens_alive[layer], expected[layer].long())
    # survivors at layer 1 are the top-scoring alive tokens ([CLS] included)
    for b in range(ids.shape[0]):
        s = out.scores[1, b].clone()
        s[0] = float("inf")
        s[~mask[b].bool()] = -1
        top = set(torch.topk(s, int(expected[1][b])).indices.tolist())
        assert set(out.alive[1, b].nonzero().flatten().tolist()) == top
    # batched equals per example here too
    with torch.no_grad():
        n = int(real[2])
        one = model(ids[2:3, :n], mask[2:3, :n])
    torch.testing.assert_close(one.logits[0], out.logits[2], atol=1e-5, rtol=0)


def test_topk_needs_a_schedule():
    with pytest.raises(ValueError, match="topk_keep"):
        LTPConfig(mode="topk")
