"""The assistant: LLM backends, intent extraction fallback, LangChain tools, the chat orchestrator, the guard.

`from agents import ChatAgent` is the Python API; it is imported lazily so that `agents.models`
(used by `chatdapp model install`) does not pull in LangChain.
"""


def __getattr__(name):
    if name in ("ChatAgent", "ChatService", "Reply"):
        from agents import chat

        return getattr(chat, name)
    raise AttributeError(name)
