"""Assistant providers: the built-in one (default) or any OpenAI-compatible model."""

from gatehouse.chat.providers.base import ChatProvider
from gatehouse.chat.providers.builtin import BuiltinAssistant
from gatehouse.chat.providers.openai import OpenAIAssistant
from gatehouse.core.config import Settings


def make_chat_provider(settings: Settings) -> ChatProvider:
    if settings.CHAT_PROVIDER == "openai":
        return OpenAIAssistant(settings)
    return BuiltinAssistant()


__all__ = ["ChatProvider", "make_chat_provider"]
