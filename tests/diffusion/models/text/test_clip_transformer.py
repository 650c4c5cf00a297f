"""Our CLIP text transformer against transformers' CLIPTextModel on the same weights, and what it refuses.

The encoders of every process are ours (no transformers import at run time); transformers is the
independent reference here, as diffusers is for the UNet.
"""

from __future__ import annotations

import pytest
import torch

from diffusion.models.clip_layers import activation
from diffusion.models.text.clip_text import TextEncoderConfig, build_text_encoder

KINDS = ["clip_l", "clip_h", "clip_g"]


def _ids():
    generator = torch.Generator().manual_seed(4)
    ids = torch.randint(0, 49406, (3, 77), generator=generator)
    ids[:, 0] = 49406
    ids[0, 5] = 49407  # end token, then padding with the end token (SD1's padding)
    ids[0, 6:] = 49407
    ids[1, 40] = 49407  # end token, then padding with 0 (OpenCLIP's)
    ids[1, 41:] = 0
    ids[2, 76] = 49407  # a full window
    return ids


def _reference(ours):
    transformers = pytest.importorskip("transformers")
    reference = transformers.CLIPTextModel(ours.config.to_hf()).eval()
    tower = getattr(reference, "text_model", reference)  # transformers 4.x nests it, 5.x does not
    result = tower.load_state_dict(ours.text_model.state_dict(), strict=False)
    assert not [k for k in result.missing_keys if not k.endswith("position_ids")] and not result.unexpected_keys
    return tower


@pytest.mark.parametrize("kind", KINDS)
def test_every_hidden_state_and_the_pooled_output_match_transformers(kind, randomize):
    ours = randomize(build_text_encoder(TextEncoderConfig.preset(kind, "tiny")), 2)
    reference = _reference(ours)
    ids = _ids()
    with torch.no_grad():
        mine = ours(ids)
        theirs = reference(input_ids=ids, output_hidden_states=True, return_dict=True)
    assert len(mine.hidden_states) == len(theirs.hidden_states) == ours.config.num_layers + 1
    for a, b in zip(mine.hidden_states, theirs.hidden_states, strict=True):
        assert (a - b).abs().max() <= 1e-5
    assert (mine.last_hidden_state - theirs.last_hidden_state).abs().max() <= 1e-5
    assert (mine.pooler_output - theirs.pooler_output).abs().max() <= 1e-5
    if ours.config.projection_dim:
        assert torch.allclose(mine["text_embeds"], ours.text_projection(theirs.pooler_output), atol=1e-5)


def test_causal_attention_a_token_sees_only_what_precedes_it(randomize):
    ours = randomize(build_text_encoder(TextEncoderConfig.preset("clip_l", "tiny")), 1)
    ids = _ids()[:1]
    changed = ids.clone()
    changed[0, 50] = 123
    with torch.no_grad():
        a, b = ours(ids).last_hidden_state, ours(changed).last_hidden_state
    assert torch.equal(a[:, :50], b[:, :50])
    assert not torch.allclose(a[:, 50:], b[:, 50:])


def test_initialisation_is_clips_and_seeded():
    config = TextEncoderConfig.preset("clip_h", "tiny")
    torch.manual_seed(0)
    first = build_text_encoder(config)
    torch.manual_seed(0)
    second = build_text_encoder(config)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    tower = first.text_model
    assert abs(float(tower.embeddings.token_embedding.weight.std()) - 0.02) < 0.002
    assert torch.count_nonzero(tower.encoder.layers[0].self_attn.q_proj.bias) == 0
    assert torch.equal(tower.final_layer_norm.weight, torch.ones_like(tower.final_layer_norm.weight))


def test_the_running_code_does_not_import_transformers():
    import subprocess
    import sys

    code = ("import sys, torch\n"
            "from diffusion.models.text.clip_text import TextEncoderConfig, build_text_encoder\n"
            "encoder = build_text_encoder(TextEncoderConfig.preset('clip_g', 'tiny'))\n"
            "encoder(torch.tensor([[49406, 320, 49407]]))\n"
            "print('transformers' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_bad_shapes_and_names_are_refused():
    with pytest.raises(ValueError, match="activation"):
        activation("swish", torch.zeros(1))
    encoder = build_text_encoder(TextEncoderConfig.preset("clip_l", "tiny"))
    with pytest.raises(ValueError, match="78 tokens"):
        encoder(torch.zeros(1, 78, dtype=torch.long))
