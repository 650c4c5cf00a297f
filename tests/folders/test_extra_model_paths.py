"""ComfyUI's extra_model_paths.yaml: folders added from a file, its bad input named clearly."""

from __future__ import annotations

import textwrap

import pytest

from folders.extra_model_paths import FolderConfigError, read_extra_model_paths
from folders.layout import Folders
from tests.folders.folder_helpers import parse


def write_yaml(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def test_extra_model_paths_yaml(tmp_path):
    config = write_yaml(tmp_path / "extra.yaml", """
        comfyui:
            base_path: other_install/
            is_default: true
            checkpoints: models/checkpoints/
            clip: models/clip/
            loras: |
                models/loras
                more_loras
            custom_nodes: custom_nodes/
        a1111:
            base_path: /opt/webui
            checkpoints: models/Stable-diffusion
            embeddings: embeddings
        no_base:
            vae: relative_vae
        empty_section:
    """)
    args = parse("--base-directory", str(tmp_path / "base"), "--extra-model-paths-config", str(config))
    folders = Folders.from_args(args)
    other = tmp_path.resolve() / "other_install"
    builtin = (tmp_path / "base" / "models").resolve()
    assert folders.model_paths("checkpoints") == [other / "models/checkpoints", builtin / "checkpoints",
                                                  __import__("pathlib").Path("/opt/webui/models/Stable-diffusion")]
    assert folders.model_paths("text_encoders")[0] == other / "models/clip"
    assert folders.model_paths("loras") == [other / "models/loras", other / "more_loras", builtin / "loras"]
    assert folders.model_paths("vae")[-1] == tmp_path.resolve() / "relative_vae"
    assert folders.model_paths("custom_nodes")[0] == other / "custom_nodes"


def test_extra_paths_flag_is_repeatable_and_takes_several(tmp_path):
    a = write_yaml(tmp_path / "a.yaml", "one:\n    loras: /x/loras\n")
    b = write_yaml(tmp_path / "b.yaml", "two:\n    loras: /y/loras\n")
    c = write_yaml(tmp_path / "c.yaml", "three:\n    new_kind: /z/stuff\n")
    args = parse("--base-directory", str(tmp_path), "--extra-model-paths-config", str(a), str(b),
                  "--extra-model-paths-config", str(c))
    folders = Folders.from_args(args)
    assert [str(p) for p in folders.model_paths("loras")[1:]] == ["/x/loras", "/y/loras"]
    assert [str(p) for p in folders.model_paths("new_kind")] == ["/z/stuff"]


def test_extra_model_paths_yaml_in_the_base_is_read(tmp_path):
    write_yaml(tmp_path / "extra_model_paths.yaml", "mine:\n    vae: /srv/vae\n")
    folders = Folders.from_args(parse("--base-directory", str(tmp_path)))
    assert str(folders.model_paths("vae")[-1]) == "/srv/vae"


def test_environment_variables_and_home_are_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("LG_MODELS", str(tmp_path / "envmodels"))
    config = write_yaml(tmp_path / "env.yaml", "s:\n    base_path: $LG_MODELS\n    loras: loras\n")
    assert read_extra_model_paths(config) == [("loras", tmp_path / "envmodels" / "loras", False)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("a:\n  b: [unclosed\n", "line 2"),
        ("a:\n\tb: tab\n", "line 2"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("section: 5\n", "section 'section' must be a mapping"),
        ("s:\n    loras: 5\n", "key 'loras': expected a path"),
        ("s:\n    base_path: [1]\n", "base_path must be a string"),
    ],
)
def test_bad_yaml_names_the_file_and_what_is_wrong(tmp_path, text, message):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(FolderConfigError) as err:
        Folders(tmp_path).add_extra_model_paths(config)
    assert str(config) in str(err.value) and message in str(err.value)


def test_missing_or_unreadable_yaml(tmp_path):
    with pytest.raises(FolderConfigError, match="does not exist"):
        read_extra_model_paths(tmp_path / "nope.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(FolderConfigError, match="bin.yaml"):
        read_extra_model_paths(binary)


def test_empty_yaml_adds_nothing(tmp_path):
    assert read_extra_model_paths(write_yaml(tmp_path / "e.yaml", "")) == []
