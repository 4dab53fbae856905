"""Questions that SmolLM2 answers with characters of several bytes (日本語, 🙂).

Which of them it answers that way differs between machines: greedy decoding follows the CPU's
floating-point arithmetic, which differs with its vector instructions. Tests try them in turn
and use the first whose answer has such characters.
"""

MULTIBYTE_QUESTIONS = (
    "Repeat exactly: 日本語のテキスト 🙂🚀 café naïve",
    "Repeat after me: 日本語",
    "Copy this text: 🙂🚀🙂🚀",
    "What does 日本 mean?",
    "Say hello in Japanese.",
)


def has_multibyte(text: str) -> bool:
    """Whether ``text`` has a character of three bytes or more in UTF-8 beyond Latin text."""
    return any(ord(character) > 0x3000 for character in text)
