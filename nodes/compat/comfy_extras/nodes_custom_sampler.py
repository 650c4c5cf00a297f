"""ComfyUI's `comfy_extras.nodes_custom_sampler` for packs: the custom-sampling nodes as classic classes (nodes/compat/core_nodes.py)."""

from __future__ import annotations

from nodes.compat.core_nodes import reexport

NODE_NAMES = ("SamplerCustom", "SamplerCustomAdvanced", "KSamplerSelect", "BasicScheduler", "KarrasScheduler", "ExponentialScheduler", "PolyexponentialScheduler", "LaplaceScheduler", "VPScheduler", "BetaSamplingScheduler", "SDTurboScheduler", "SplitSigmas", "SplitSigmasDenoise", "FlipSigmas", "SetFirstSigma", "ExtendIntermediateSigmas", "SamplingPercentToSigma", "BasicGuider", "CFGGuider", "DualCFGGuider", "RandomNoise", "DisableNoise", "AddNoise", "SamplerDPMPP_2M_SDE", "SamplerDPMPP_3M_SDE", "SamplerDPMPP_SDE", "SamplerDPMPP_2S_Ancestral", "SamplerEulerAncestral", "SamplerEulerAncestralCFGPP", "SamplerLMS", "SamplerDPMAdaptative", "SamplerER_SDE", "SamplerSASolver", )
__getattr__, __dir__ = reexport("comfy_extras.nodes_custom_sampler", NODE_NAMES)
