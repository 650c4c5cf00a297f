"""The example pack's nodes, written exactly as a ComfyUI custom node pack would write them."""

MAX_REPEATED_LENGTH = 100_000


class ExampleRepeatText:
    """Repeats a text a number of times, with an optional separator."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "text": ("STRING", {"default": "hello", "multiline": True}),
                "times": ("INT", {"default": 2, "min": 1, "max": 1000, "tooltip": "How many copies"}),
            },
            "optional": {
                "separator": ("STRING", {"default": " "}),
            },
        }

    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("text",)
    OUTPUT_TOOLTIPS = ("The repeated text",)
    FUNCTION = "repeat"
    CATEGORY = "example"
    DESCRIPTION = "Repeats a text."

    @classmethod
    def VALIDATE_INPUTS(cls, text, times):
        if text is not None and times is not None and len(text) * times > MAX_REPEATED_LENGTH:
            return f"the repeated text would be longer than {MAX_REPEATED_LENGTH} characters"
        return True

    def repeat(self, text, times, separator=" "):
        return (separator.join([text] * times),)


class ExampleSplitWords:
    """Splits a text into words: a list output, so the next node runs once per word."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"forceInput": True})}}

    RETURN_TYPES = ("STRING", "INT")
    RETURN_NAMES = ("words", "count")
    OUTPUT_IS_LIST = (True, False)
    FUNCTION = "split"
    CATEGORY = "example"

    def split(self, text):
        words = text.split()
        return (words, len(words))


class ExampleJoinWords:
    """Joins a list of texts back into one (INPUT_IS_LIST: gets whole lists)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "words": ("STRING", {"forceInput": True}),
                "joiner": (["space", "comma", "newline"],),
            }
        }

    RETURN_TYPES = ("STRING",)
    FUNCTION = "join"
    CATEGORY = "example"
    INPUT_IS_LIST = True

    JOINERS = {"space": " ", "comma": ", ", "newline": "\n"}

    def join(self, words, joiner):
        return (self.JOINERS[joiner[0]].join(words),)


class ExampleShowText:
    """An output node showing text in the editor; counts how often this node ran."""

    def __init__(self):
        self.calls = 0

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"text": ("STRING", {"forceInput": True})},
            "hidden": {"unique_id": "UNIQUE_ID", "prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    RETURN_TYPES = ("STRING",)
    FUNCTION = "show"
    OUTPUT_NODE = True
    CATEGORY = "example"

    @classmethod
    def IS_CHANGED(cls, text):
        return text

    def show(self, text, unique_id=None, prompt=None, extra_pnginfo=None):
        self.calls += 1
        return {"ui": {"text": [text]}, "result": (text,)}


NODE_CLASS_MAPPINGS = {
    "ExampleRepeatText": ExampleRepeatText,
    "ExampleSplitWords": ExampleSplitWords,
    "ExampleJoinWords": ExampleJoinWords,
    "ExampleShowText": ExampleShowText,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "ExampleRepeatText": "Repeat Text (example)",
    "ExampleSplitWords": "Split Words (example)",
    "ExampleJoinWords": "Join Words (example)",
    "ExampleShowText": "Show Text (example)",
}
