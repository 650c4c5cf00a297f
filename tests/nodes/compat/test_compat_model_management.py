"""comfy.model_management, comfy.cli_args and latent_preview answered from the running node's runtime."""
# ruff: noqa: F811

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).

from __future__ import annotations

import pytest
import torch

from graph.context import Interrupted, NodeContext, PreviewImage
from graph.running import node_running
from nodes.api.runtime import DeviceRequest, NodeRuntime
from nodes.compat import latent_preview
from nodes.compat.comfy import cli_args
from nodes.compat.comfy import model_management as mm
from tests.nodes.sd_fixtures import Recorder, sd_runtime, tiny_files, tiny_models  # noqa: F401


@pytest.fixture
def running(sd_runtime):
    context = NodeContext(node_id="7", prompt_id="p", runtime=sd_runtime, on_progress=Recorder())
    with node_running(context):
        yield context


def test_devices_and_dtypes_are_the_runtimes_decision(running):
    choice = running.runtime.models.choice
    assert mm.get_torch_device() == choice.device == torch.device("cpu")
    assert mm.unet_dtype() == torch.float32 and mm.vae_dtype() == choice.vae_dtype
    assert mm.text_encoder_dtype() == choice.text_encoder_dtype
    assert mm.intermediate_device() == mm.unet_offload_device() == torch.device("cpu")
    assert mm.is_device_cpu(mm.get_torch_device()) and not mm.is_device_cuda("cpu") and mm.is_device_mps("mps")
    assert mm.cpu_state is mm.CPUState.CPU and mm.vram_state is mm.VRAMState.DISABLED
    assert not mm.should_use_fp16() and not mm.xformers_enabled()
    assert mm.OOM_EXCEPTION is torch.OutOfMemoryError
    free = mm.get_free_memory()
    assert isinstance(free, int) and 0 < free <= mm.get_total_memory()
    assert mm.get_free_memory(torch.device("cpu"), torch_free_too=True)[0] > 0
    assert mm.module_size(torch.nn.Linear(4, 2)) == (4 * 2 + 2) * 4
    half = mm.cast_to_device(torch.ones(2), "cpu", torch.float16)
    assert half.dtype == torch.float16
    with pytest.raises(AttributeError, match="latentgraph provides"):
        mm.some_internal_of_comfyui  # noqa: B018


def test_load_models_gpu_goes_through_the_model_manager(running, tiny_models):
    patcher = tiny_models["sd15"].model
    mm.load_models_gpu([patcher], memory_required=1024)
    assert patcher in mm.loaded_models()
    with pytest.raises(TypeError, match="not a model latentgraph manages"):
        mm.load_model_gpu(object())
    mm.soft_empty_cache()


def test_interrupts_are_the_running_prompts(running):
    assert not mm.processing_interrupted()
    mm.throw_exception_if_processing_interrupted()
    mm.interrupt_current_processing()
    assert running.interrupt.is_set() and mm.processing_interrupted()
    with pytest.raises(Interrupted) as caught:
        mm.throw_exception_if_processing_interrupted()
    assert isinstance(caught.value, mm.InterruptProcessingException)
    mm.interrupt_current_processing(False)
    assert not running.interrupt.is_set()


def test_cli_args_follow_the_runtimes_flags(tmp_path):
    runtime = NodeRuntime.for_directory(tmp_path, devices=DeviceRequest(cpu=True, precision="fp32", memory="low"))
    runtime.preview_method = "taesd"
    runtime.disable_metadata = True
    args = cli_args.args
    try:
        assert cli_args.bind(runtime, port=9000) is args
        assert args.cpu and args.lowvram and not args.normalvram and args.force_fp32
        assert args.preview_method is cli_args.LatentPreviewMethod.TAESD and args.disable_metadata
        assert args.output_directory == str(runtime.folders.output_dir) and args.port == 9000
        assert args.listen == "127.0.0.1" and args.highvram is False
        assert cli_args.bound_runtime() is runtime
        assert latent_preview.LatentPreviewMethod is cli_args.LatentPreviewMethod
    finally:
        cli_args.reset()
    assert args.preview_method is cli_args.LatentPreviewMethod.NoPreviews and cli_args.bound_runtime() is None


def test_prepare_callback_reports_progress_with_a_preview(running, tiny_models):
    model = tiny_models["sd15"].model
    store: dict = {}
    callback = latent_preview.prepare_callback(model, 2, store)
    x0 = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    callback(0, x0, x0, 2)
    callback(1, x0, x0, 2)
    assert [(value, total) for value, total, _ in running.on_progress.calls] == [(1, 2), (2, 2)]
    preview = running.on_progress.calls[0][2]
    assert isinstance(preview, PreviewImage) and preview.format == "JPEG" and preview.data[:2] == b"\xff\xd8"
    assert store["x0"] is x0
    previewer = latent_preview.get_previewer(mm.get_torch_device(), model.model_info.latent_format)
    image_format, image, size = previewer.decode_latent_to_preview_image("JPEG", x0)
    assert image_format == "JPEG" and image.size == (8, 8) and size == 512


def test_no_previewer_when_the_prompt_turns_previews_off(sd_runtime, tiny_models):
    context = NodeContext(node_id="1", prompt_id="p", runtime=sd_runtime, extra_data={"preview_method": "none"})
    with node_running(context):
        assert latent_preview.get_previewer(None, tiny_models["sd15"].model.model_info.latent_format) is None
