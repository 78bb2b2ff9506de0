"""The assistant: LLM backends, intent extraction fallback, LangChain tools, the chat orchestrator, the guard."""
