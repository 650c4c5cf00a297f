"""A1111 hypernetworks (`.pt`), as ComfyUI's comfy_extras/nodes_hypernetwork.py reads and applies them.

The file is a torch pickle of plain data, loaded with weights_only=True (a pickle that would
run code is refused): integer keys are attention widths (768, 320, 640, 1280, ...), each a list
of two state dicts (for the keys and for the values) of Linear layers `linear.N.weight/.bias`,
in file order; options `activation_func` (linear, relu, leakyrelu, elu, swish, tanh, sigmoid,
softsign, mish), `is_layer_norm` (every Linear is followed by a LayerNorm, the next entry),
`use_dropout`, `activate_output` (an activation after the last Linear too), `last_layer_dropout`.

Applied to every self- and cross-attention whose key width has a network: k + net_k(k) * strength,
v + net_v(v) * strength (the query is untouched).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

ACTIVATIONS = {"linear": nn.Identity, "relu": nn.ReLU, "leakyrelu": nn.LeakyReLU, "elu": nn.ELU,
               "swish": nn.Hardswish, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softsign": nn.Softsign, "mish": nn.Mish}


class HypernetworkError(ValueError):
    """A file that is not a usable hypernetwork; the message names the file and what was expected."""


def read_hypernetwork_file(path: str | Path) -> dict:
    """The file's dictionary, loaded with weights_only (errors name the file)."""
    path = Path(path)
    if not path.is_file():
        raise HypernetworkError(f"{path.name}: file not found")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise HypernetworkError(f"{path.name}: refused: the file holds code or objects beyond tensors and plain "
                                f"data, not an A1111 hypernetwork ({str(exc).splitlines()[0][:200]})") from None
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        raise HypernetworkError(f"{path.name}: corrupt, truncated or not a hypernetwork "
                                f"({str(exc).splitlines()[0][:200]})") from None
    if not isinstance(loaded, Mapping):
        raise HypernetworkError(f"{path.name}: not a hypernetwork (holds a {type(loaded).__name__}, expected a dict)")
    return dict(loaded)


def _network(weights: Mapping[str, torch.Tensor], options: Mapping[str, Any]) -> nn.Sequential:
    names = [key[: -len(".weight")] for key in weights if key.endswith(".weight")]
    activation = ACTIVATIONS[options["activation_func"]]
    layers: list[nn.Module] = []
    i = 0
    while i < len(names):
        last, penultimate = i == len(names) - 1, i == len(names) - 2
        weight, bias = weights[f"{names[i]}.weight"], weights[f"{names[i]}.bias"]
        linear = nn.Linear(weight.shape[1], weight.shape[0])
        linear.load_state_dict({"weight": weight.float(), "bias": bias.float()})
        layers.append(linear)
        if options["activation_func"] != "linear" and (not last or options["activate_output"]):
            layers.append(activation())
        if options["is_layer_norm"]:
            i += 1
            norm_weight, norm_bias = weights[f"{names[i]}.weight"], weights[f"{names[i]}.bias"]
            norm = nn.LayerNorm(norm_weight.shape[0])
            norm.load_state_dict({"weight": norm_weight.float(), "bias": norm_bias.float()})
            layers.append(norm)
        if options["use_dropout"] and not last and (not penultimate or options["last_layer_dropout"]):
            layers.append(nn.Dropout(p=0.3))
        i += 1
    return nn.Sequential(*layers).eval()


def build_hypernetwork(data: Mapping, *, name: str) -> dict[int, nn.ModuleList]:
    """width -> ModuleList([net for keys, net for values]) from the file's dictionary."""
    options = {"activation_func": data.get("activation_func", "linear"),
               "is_layer_norm": bool(data.get("is_layer_norm", False)),
               "use_dropout": bool(data.get("use_dropout", False)),
               "activate_output": bool(data.get("activate_output", False)),
               "last_layer_dropout": bool(data.get("last_layer_dropout", False))}
    if options["activation_func"] not in ACTIVATIONS:
        raise HypernetworkError(f"{name}: unsupported activation_func {options['activation_func']!r}; "
                                f"expected one of {', '.join(ACTIVATIONS)}")
    networks: dict[int, nn.ModuleList] = {}
    for key, pair in data.items():
        try:
            width = int(key)
        except (TypeError, ValueError):
            continue
        if not isinstance(pair, (list, tuple)) or len(pair) < 2 or not all(isinstance(p, Mapping) for p in pair[:2]):
            raise HypernetworkError(f"{name}: entry {key!r} must be a list of two layer dicts (keys, values)")
        try:
            networks[width] = nn.ModuleList([_network(pair[0], options), _network(pair[1], options)])
        except (KeyError, IndexError, RuntimeError) as exc:
            raise HypernetworkError(f"{name}: entry {key!r}: the layers do not fit together ({exc})") from None
    if not networks:
        raise HypernetworkError(f"{name}: not a hypernetwork (no integer width keys such as 768 holding layers)")
    return networks


def load_hypernetwork(path: str | Path) -> dict[int, nn.ModuleList]:
    return build_hypernetwork(read_hypernetwork_file(path), name=Path(path).name)


class HypernetworkPatch:
    """An attn1/attn2 patch (n, keys, values, info) -> (n, keys, values) adding the networks' outputs."""

    def __init__(self, networks: Mapping[int, nn.ModuleList], strength: float) -> None:
        self.networks = dict(networks)
        self.strength = float(strength)

    def __call__(self, n: torch.Tensor, keys: torch.Tensor | None, values: torch.Tensor | None, info: dict):
        keys = n if keys is None else keys
        values = keys if values is None else values
        pair = self.networks.get(int(keys.shape[-1]))
        if pair is None:
            return n, keys, values
        with torch.no_grad():
            net_k, net_v = (pair[0].to(keys.device, keys.dtype), pair[1].to(values.device, values.dtype))
            keys = keys + net_k(keys) * self.strength
            values = values + net_v(values) * self.strength
        return n, keys, values
