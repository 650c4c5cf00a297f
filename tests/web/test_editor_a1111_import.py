"""Opening a PNG made by AUTOMATIC1111 / Forge (no ComfyUI workflow, only a "parameters" text chunk)
builds the txt2img graph with its settings, and the server validates it against its real /object_info.
A JPEG whose EXIF UserComment holds img2img parameters, dropped on the canvas, becomes LoadImage (the
JPEG itself, uploaded to input/) → VAEEncode → KSampler with its denoise."""

from __future__ import annotations

import io
import json

from playwright.sync_api import expect

from .conftest import editor_page
from .editor_actions import exported_prompt, node, open_workflow_file, queue

PARAMETERS = """a large red star on a blue background,
center
Negative prompt: blurry
Steps: 3, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6, Seed: 4242, Size: 64x64, \
Model hash: 0123abcd, Model: latentgraph-demo, Clip skip: 2, Denoising strength: 0.5, Hires upscale: 1.5, \
Hires steps: 2, Hires upscaler: Latent, Face restoration: CodeFormer, Lora hashes: "a: 1, b: 2", Version: v1.10.1"""


def _a1111_png(path) -> None:
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", PARAMETERS)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG", pnginfo=info)
    path.write_bytes(buf.getvalue())


def test_open_a1111_png_builds_a_graph_the_server_accepts(browser, demo_server, request, tmp_path):
    picture = tmp_path / "00012-4242.png"
    _a1111_png(picture)
    with editor_page(browser, demo_server.url, request) as page:
        open_workflow_file(page, picture)
        expect(page.get_by_text("Loaded 00012-4242.png (imported from A1111 parameters)")).to_be_visible()
        expect(page.get_by_text("not mapped: Face restoration")).to_be_visible()
        # checkpoint, clip skip, 2 prompts, latent, sampler, upscale, hires sampler, decode, save
        expect(page.locator(".react-flow__node")).to_have_count(10)
        expect(page.locator(".react-flow__edge")).to_have_count(15)
        expect(node(page, "1").get_by_label("ckpt_name")).to_have_value("latentgraph-demo.safetensors")
        expect(node(page, "6").get_by_label("sampler_name")).to_have_value("dpmpp_2m")
        expect(node(page, "6").get_by_label("scheduler")).to_have_value("karras")
        expect(node(page, "3").get_by_label("text")).to_have_value("a large red star on a blue background,\ncenter")
        expect(node(page, "4").get_by_label("text")).to_have_value("blurry")
        for node_id, widget, value in [
            ("2", "stop_at_clip_layer", "-2"),
            ("5", "width", "64"),
            ("6", "seed", "4242"),
            ("6", "steps", "3"),
            ("7", "scale_by", "1.5"),
            ("8", "steps", "2"),
            ("8", "denoise", "0.5"),
        ]:
            expect(node(page, node_id).locator(f"[data-widget='{widget}']")).to_contain_text(value)

        with page.expect_response("**/prompt") as answer:
            queue(page)
        assert answer.value.status == 200, answer.value.text()
        assert answer.value.json().get("node_errors") in (None, {}), answer.value.text()


IMG2IMG = """a lighthouse on a cliff
Negative prompt: lowres
Steps: 4, Sampler: Euler a, CFG scale: 5, Seed: 77, Size: 64x64, Model: latentgraph-demo, Denoising strength: 0.5, \
Face restoration: CodeFormer"""


def _a1111_jpeg() -> bytes:
    """What A1111 writes: the text as UTF-16 big-endian after "UNICODE\\0" in the Exif IFD's UserComment."""
    from PIL import Image

    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + IMG2IMG.encode("utf-16-be")
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 90, 160)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def _drop_on_canvas(page, data: bytes, name: str) -> None:
    page.evaluate(
        """([bytes, name]) => {
            const file = new File([new Uint8Array(bytes)], name, { type: 'image/jpeg' });
            const dt = new DataTransfer();
            dt.items.add(file);
            const target = document.querySelector('.lg-canvas');
            target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        }""",
        [list(data), name],
    )


def test_drop_a1111_img2img_jpeg_uploads_it_and_queues(browser, demo_server, request):
    with editor_page(browser, demo_server.url, request) as page:
        _drop_on_canvas(page, _a1111_jpeg(), 'lighthouse.jpg')
        expect(page.get_by_text("Loaded lighthouse.jpg (imported from A1111 img2img parameters")).to_be_visible()
        expect(page.get_by_text("not mapped: Face restoration")).to_be_visible()
        # checkpoint, 2 prompts, LoadImage, VAEEncode, sampler, decode, save
        expect(page.locator(".react-flow__node")).to_have_count(8)
        prompt = exported_prompt(page)
        by_type = {n["class_type"]: n["inputs"] for n in prompt.values()}
        assert by_type["KSampler"]["denoise"] == 0.5 and by_type["KSampler"]["steps"] == 2, by_type["KSampler"]
        assert "EmptyLatentImage" not in by_type
        image = by_type["LoadImage"]["image"]
        assert (demo_server.base / "input" / image).is_file(), image
        assert by_type["CLIPTextEncode"]["text"] == "lowres"

        with page.expect_response("**/prompt") as answer:
            queue(page)
        assert answer.value.status == 200, answer.value.text()
        assert answer.value.json().get("node_errors") in (None, {}), answer.value.text()


def test_refused_upload_of_the_img2img_image_opens_the_graph_without_it_and_says_why(browser, demo_server, request):
    """The server refuses the dropped JPEG (a 500 with ComfyUI's error JSON): the graph still opens, LoadImage
    holds no image (queueing would be refused until one is chosen), nothing lands in input/, and the message
    bar says what happened and what to do."""
    inputs = demo_server.base / "input"
    before = sorted(p.name for p in inputs.iterdir()) if inputs.is_dir() else []
    refusal = {"error": {"type": "disk_full", "message": "No space left on device.", "details": "", "extra_info": {}}}
    with editor_page(browser, demo_server.url, request) as page:
        page.route("**/upload/image", lambda route: route.fulfill(status=500, content_type="application/json",
                                                                  body=json.dumps(refusal)))
        _drop_on_canvas(page, _a1111_jpeg(), "refused.jpg")
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Loaded refused.jpg (imported from A1111 img2img parameters)")
        expect(alert).to_contain_text("the image could not be uploaded (the server refused refused.jpg "
                                      "(HTTP 500 disk_full: No space left on device.)): "
                                      "choose LoadImage's image before queueing")
        # checkpoint, 2 prompts, LoadImage, VAEEncode, sampler, decode, save: the rest of the graph is there
        expect(page.locator(".react-flow__node")).to_have_count(8)
        by_type = {n["class_type"]: n["inputs"] for n in exported_prompt(page).values()}
        assert by_type["LoadImage"]["image"] == "", by_type["LoadImage"]
        assert by_type["KSampler"]["denoise"] == 0.5, by_type["KSampler"]
    after = sorted(p.name for p in inputs.iterdir()) if inputs.is_dir() else []
    assert after == before
