"""graph.node_replace: deprecated node types rewritten in an API prompt (ComfyUI v0.46's step before
validation): inputs renamed and set, links from the replaced node moved to the new output slots, chains
followed, and replacements that lead nowhere reported."""

from __future__ import annotations

import copy

import pytest

from graph.node_replace import NodeReplace, NodeReplaceError, NodeReplaceRegistry

INSTALLED = {"Loader", "NewScale", "Sink", "NewestScale"}


def installed(name: str) -> bool:
    return name in INSTALLED


def old_scale_prompt() -> dict:
    return {
        "1": {"class_type": "Loader", "inputs": {"name": "a.png"}},
        "2": {"class_type": "OldScale", "inputs": {"images": ["1", 0], "longer_edge": 512, "legacy": True},
              "_meta": {"title": "My scale"}},
        "3": {"class_type": "Sink", "inputs": {"image": ["2", 1], "mask": ["2", 0], "label": "x"}},
    }


def scale_replacement(**changes) -> NodeReplace:
    arguments = {
        "new_node_id": "NewScale", "old_node_id": "OldScale", "old_widget_ids": ["longer_edge"],
        "input_mapping": [{"new_id": "image", "old_id": "images"}, {"new_id": "size", "old_id": "longer_edge"},
                          {"new_id": "method", "set_value": "lanczos"}],
        "output_mapping": [{"old_idx": 1, "new_idx": 0}, {"old_idx": 0, "new_idx": 2}],
    }
    return NodeReplace(**{**arguments, **changes})


def registry_with(*replacements: NodeReplace) -> NodeReplaceRegistry:
    registry = NodeReplaceRegistry()
    for replacement in replacements:
        registry.register(replacement)
    return registry


def test_inputs_are_renamed_set_and_dropped_and_links_move_to_the_new_slots():
    prompt = old_scale_prompt()
    before = copy.deepcopy(prompt)
    outcome = registry_with(scale_replacement()).apply_replacements(prompt, installed)
    assert outcome.prompt["2"] == {"class_type": "NewScale", "_meta": {"title": "My scale"},
                                   "inputs": {"image": ["1", 0], "size": 512, "method": "lanczos"}}
    assert outcome.prompt["3"]["inputs"] == {"image": ["2", 0], "mask": ["2", 2], "label": "x"}
    assert outcome.prompt["1"] is prompt["1"]
    assert [r.as_dict() for r in outcome.replaced] == [
        {"node_id": "2", "old_class_type": "OldScale", "new_class_type": "NewScale"}]
    assert not outcome.unresolved
    assert prompt == before  # the prompt given is left as it was


def test_an_installed_class_is_never_replaced():
    prompt = old_scale_prompt()
    prompt["2"]["class_type"] = "Sink"
    outcome = registry_with(scale_replacement(old_node_id="Sink", new_node_id="NewScale")).apply_replacements(
        prompt, installed)
    assert outcome.prompt == prompt and not outcome.replaced


def test_without_an_input_mapping_inputs_keep_their_names_and_unmapped_slots_their_index():
    outcome = registry_with(NodeReplace("NewScale", "OldScale")).apply_replacements(old_scale_prompt(), installed)
    assert outcome.prompt["2"]["inputs"] == {"images": ["1", 0], "longer_edge": 512, "legacy": True}
    assert outcome.prompt["3"]["inputs"] == old_scale_prompt()["3"]["inputs"]


def test_an_old_input_the_node_did_not_set_is_left_out():
    prompt = old_scale_prompt()
    del prompt["2"]["inputs"]["longer_edge"]
    outcome = registry_with(scale_replacement()).apply_replacements(prompt, installed)
    assert outcome.prompt["2"]["inputs"] == {"image": ["1", 0], "method": "lanczos"}


def test_a_chain_of_replacements_composes_inputs_and_output_slots():
    second = NodeReplace("NewestScale", "NewScale", input_mapping=[
        {"new_id": "pixels", "old_id": "image"}, {"new_id": "size", "old_id": "size"},
        {"new_id": "method", "old_id": "method"}], output_mapping=[{"old_idx": 0, "new_idx": 1}])
    registry = registry_with(scale_replacement(), second)
    outcome = registry.apply_replacements(old_scale_prompt(), lambda name: name in INSTALLED - {"NewScale"})
    assert outcome.prompt["2"]["class_type"] == "NewestScale"
    assert outcome.prompt["2"]["inputs"] == {"pixels": ["1", 0], "size": 512, "method": "lanczos"}
    # old slot 1 -> 0 (first step) -> 1 (second); old slot 0 -> 2 -> 2 (not in the second mapping)
    assert outcome.prompt["3"]["inputs"]["image"] == ["2", 1]
    assert outcome.prompt["3"]["inputs"]["mask"] == ["2", 2]
    assert outcome.replaced[0].chain == ("NewScale", "NewestScale")


def test_links_between_two_replaced_nodes_are_moved_too():
    prompt = old_scale_prompt()
    prompt["4"] = {"class_type": "OldScale", "inputs": {"images": ["2", 1], "longer_edge": 64}}
    outcome = registry_with(scale_replacement()).apply_replacements(prompt, installed)
    assert outcome.prompt["4"]["inputs"]["image"] == ["2", 0]
    assert prompt["4"]["inputs"]["images"] == ["2", 1]  # a new list, not the given one changed
    assert {r.node_id for r in outcome.replaced} == {"2", "4"}


def test_a_target_that_is_not_installed_is_reported_with_its_chain():
    registry = registry_with(scale_replacement(new_node_id="Gone"))
    outcome = registry.apply_replacements(old_scale_prompt(), installed)
    assert outcome.prompt["2"]["class_type"] == "OldScale" and not outcome.replaced
    (unresolved,) = outcome.unresolved
    assert (unresolved.node_id, unresolved.chain, unresolved.loops) == ("2", ("Gone",), False)
    assert unresolved.message() == ("Node 'OldScale' is replaced by 'Gone' (OldScale -> Gone), which is not "
                                    "installed. The custom node that provides it may be missing.")


def test_replacements_that_loop_are_reported():
    registry = registry_with(NodeReplace("Middle", "OldScale"), NodeReplace("OldScale", "Middle"))
    (unresolved,) = registry.apply_replacements(old_scale_prompt(), installed).unresolved
    assert unresolved.loops and "go round in a circle (OldScale -> Middle -> OldScale)" in unresolved.message()


def test_the_first_registration_wins_and_a_repeated_pair_is_ignored():
    registry = registry_with(scale_replacement(), NodeReplace("Sink", "OldScale"), scale_replacement())
    assert [r.new_node_id for r in registry.get_replacement("OldScale")] == ["NewScale", "Sink"]
    served = registry.as_dict()["OldScale"][0]
    assert served["old_widget_ids"] == ["longer_edge"] and served["output_mapping"][0] == {"old_idx": 1, "new_idx": 0}
    registry.unregister("OldScale")
    assert not registry.has_replacement("OldScale") and registry.as_dict() == {}


def test_non_node_entries_and_nodes_without_inputs_pass():
    prompt = {"last_node_id": 3, "2": {"class_type": "OldScale"}}
    outcome = registry_with(NodeReplace("NewScale", "OldScale")).apply_replacements(prompt, installed)
    assert outcome.prompt == {"last_node_id": 3, "2": {"class_type": "NewScale", "inputs": {}}}


@pytest.mark.parametrize(("arguments", "message"), [
    ({"new_node_id": "", "old_node_id": "A"}, "new_node_id must be a non-empty class name"),
    ({"new_node_id": "A", "old_node_id": "A"}, "replaces 'A' by itself"),
    ({"new_node_id": "B", "old_node_id": "A", "input_mapping": [{"new_id": "x"}]}, "each input_mapping entry"),
    ({"new_node_id": "B", "old_node_id": "A", "output_mapping": [{"old_idx": 0, "new_idx": -1}]},
     "each output_mapping entry"),
    ({"new_node_id": "B", "old_node_id": "A", "old_widget_ids": [1]}, "old_widget_ids must be a list"),
])
def test_malformed_declarations_are_refused_when_made(arguments, message):
    with pytest.raises(NodeReplaceError, match=message):
        NodeReplace(**arguments)


def test_register_takes_only_node_replace_objects():
    with pytest.raises(NodeReplaceError, match="takes an io.NodeReplace, not dict"):
        NodeReplaceRegistry().register({"new_node_id": "B", "old_node_id": "A"})


def test_malformed_inputs_are_left_for_validation_to_report():
    prompt = {"2": {"class_type": "OldScale", "inputs": ["not", "an", "object"]}}
    outcome = registry_with(scale_replacement()).apply_replacements(prompt, installed)
    assert outcome.prompt["2"] == {"class_type": "NewScale", "inputs": ["not", "an", "object"]}
