"""LoadImage and LoadImageMask list the images the editor pastes into input/pasted/ (as ComfyUI's
editor uploads them, "pasted/image.png") after the top-level files, and load such a value."""

from graph.context import NodeContext
from nodes.library.image.load_save import LoadImage, LoadImageMask
from tests.nodes.sd_fakes import gradient, schema, write_image


def test_pasted_images_are_listed_after_the_top_level_files_and_load(runtime):
    folders = runtime.folders
    write_image(folders.input_dir / "b.png", gradient(2, 2))
    write_image(folders.input_dir / "pasted" / "image.png", gradient(3, 5))
    write_image(folders.input_dir / "pasted" / "deeper" / "x.png", gradient(2, 2))
    write_image(folders.input_dir / "sub" / "c.png", gradient(2, 2))
    (folders.input_dir / "pasted" / "notes.txt").write_text("x")
    assert schema(LoadImage, runtime).input("image").choices == ("b.png", "pasted/image.png")
    assert schema(LoadImageMask, runtime).input("image").choices == ("b.png", "pasted/image.png", "pasted/notes.txt")
    ctx = NodeContext(node_id="1", prompt_id="p", runtime=runtime)
    assert LoadImage.validate(ctx, image="pasted/image.png") is True
    image, _mask = LoadImage.run(ctx, image="pasted/image.png")
    assert tuple(image.shape) == (1, 3, 5, 3)
