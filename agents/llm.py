"""LLM backends behind LangChain's chat-model interface, chosen by ``Settings.llm``.

local        llama.cpp over the GGUF in $CHATDAPP_HOME/models (one Llama instance per process: the
             loaded weights and the KV cache of the shared prompt prefix are reused across turns)
openai       any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, hosted)
transformers a local Hugging Face checkpoint directory (never fetched from a hub)
fake         a scripted model for tests: enqueue replies, read the recorded prompts
"""
from __future__ import annotations

import atexit

import json
import threading
from collections import deque
from pathlib import Path
from typing import Any, Iterator, Sequence

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from app.config import Settings
from app.errors import ConfigError

BACKENDS = ("local", "openai", "transformers", "fake")


def _role(m: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}.get(m.type, "user")


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict]:
    out = []
    for m in messages:
        content = m.content if isinstance(m.content, str) else json.dumps(m.content)
        if isinstance(m, ToolMessage):
            # Small local models have no tool role in their template: hand the result back as user text.
            out.append({"role": "user", "content": f"Tool result: {content}"})
        else:
            out.append({"role": _role(m), "content": content})
    return out


def model_id(llm: BaseChatModel) -> str:
    """A stable id of the model that phrased a reply (recorded with every turn)."""
    return getattr(llm, "model_id", None) or getattr(llm, "model_name", None) or type(llm).__name__


# --- local: llama.cpp ------------------------------------------------------------------
_LLAMAS: dict[tuple, Any] = {}
_LLAMA_LOCK = threading.Lock()


@atexit.register
def _close_llamas() -> None:
    # Close while llama.cpp's module globals still exist; Llama.__del__ at interpreter teardown raises.
    for llama, _ in _LLAMAS.values():
        llama.close()
    _LLAMAS.clear()


def _load_llama(path: str, n_ctx: int, n_threads: int):
    key = (path, n_ctx, n_threads)
    with _LLAMA_LOCK:
        if key not in _LLAMAS:
            from llama_cpp import Llama, LlamaRAMCache

            llama = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                          n_batch=256, verbose=False)
            # Two prompt families alternate (intent extraction, reply phrasing); the RAM cache keeps
            # the evaluated state of each so neither re-reads its system prompt every turn.
            llama.set_cache(LlamaRAMCache(capacity_bytes=1 << 30))
            _LLAMAS[key] = (llama, threading.Lock())  # one decode at a time per loaded model (page sessions share it)
        return _LLAMAS[key]


class LlamaCppChat(BaseChatModel):
    """A thin chat model over ``llama_cpp.Llama`` (the GGUF's own chat template, JSON-schema output)."""

    model_path: str
    model_id: str = "local"
    n_ctx: int = 2048  # prompts are short; a smaller context makes cached states cheaper to save and load
    n_threads: int = 2
    max_tokens: int = 96
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def client(self):
        return _load_llama(self.model_path, self.n_ctx, self.n_threads)[0]

    @property
    def decode_lock(self) -> threading.Lock:
        return _load_llama(self.model_path, self.n_ctx, self.n_threads)[1]

    def _params(self, stop, kwargs) -> dict:
        p = {"max_tokens": kwargs.get("max_tokens", self.max_tokens), "temperature": self.temperature,
             "stop": stop or kwargs.get("stop")}
        if kwargs.get("response_format"):
            p["response_format"] = kwargs["response_format"]
        return p

    def _generate(self, messages, stop=None, run_manager: CallbackManagerForLLMRun | None = None, **kwargs) -> ChatResult:
        with self.decode_lock:
            out = self.client.create_chat_completion(messages=to_openai_messages(messages), **self._params(stop, kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=out["choices"][0]["message"]["content"] or ""))])

    def _stream(self, messages, stop=None, run_manager: CallbackManagerForLLMRun | None = None, **kwargs) -> Iterator[ChatGenerationChunk]:
        with self.decode_lock:
            for part in self.client.create_chat_completion(messages=to_openai_messages(messages), stream=True,
                                                           **self._params(stop, kwargs)):
                text = part["choices"][0]["delta"].get("content") or ""
                if text:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk


# --- transformers: a local checkpoint directory ---------------------------------------------
class TransformersChat(BaseChatModel):
    """Greedy generation with a local ``AutoModelForCausalLM`` + its tokenizer's chat template."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: str
    model_id: str = "transformers"
    max_tokens: int = 96
    n_threads: int = 2

    _model: Any = PrivateAttr(None)
    _tok: Any = PrivateAttr(None)

    @property
    def _llm_type(self) -> str:
        return "transformers"

    def _load(self):
        if self._model is None:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            torch.set_num_threads(self.n_threads)
            if not Path(self.path, "config.json").exists():
                raise ConfigError(f"{self.path} is not a Hugging Face checkpoint directory (no config.json).")
            self._tok = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            self._model = AutoModelForCausalLM.from_pretrained(self.path, local_files_only=True).eval()
        return self._model, self._tok

    def _inputs(self, messages):
        model, tok = self._load()
        chat = [{"role": m["role"] if m["role"] != "tool" else "user", "content": m["content"]}
                for m in to_openai_messages(messages)]
        ids = tok.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        return model, tok, ids

    def _gen_kwargs(self, tok, kwargs) -> dict:
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        return {"max_new_tokens": kwargs.get("max_tokens", self.max_tokens), "do_sample": False, "pad_token_id": pad}

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        import torch

        model, tok, ids = self._inputs(messages)
        with torch.no_grad():
            out = model.generate(**ids, **self._gen_kwargs(tok, kwargs))
        text = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=_cut(text, stop)))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        import torch
        from transformers import TextIteratorStreamer

        model, tok, ids = self._inputs(messages)
        streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True)

        def work():
            with torch.no_grad():
                model.generate(**ids, **self._gen_kwargs(tok, kwargs), streamer=streamer)

        t = threading.Thread(target=work, daemon=True)
        t.start()
        for text in streamer:
            if text:
                yield ChatGenerationChunk(message=AIMessageChunk(content=text))
        t.join()


def _cut(text: str, stop) -> str:
    for s in stop or []:
        if s in text:
            text = text[: text.index(s)]
    return text


# --- fake: scripted ---------------------------------------------------------------------------
class FakeChat(BaseChatModel):
    """Replies from a queue (str or AIMessage); records every prompt; streams word by word.

    With an empty queue it answers ``default`` so orchestration tests need not script every call.
    """

    model_id: str = "fake"
    default: str = "Here is what I found."
    queue: deque = Field(default_factory=deque)
    prompts: list = Field(default_factory=list)
    calls: list = Field(default_factory=list)  # kwargs per call (response_format, max_tokens, ...)
    tools: list = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "fake"

    def enqueue(self, *replies: str | AIMessage) -> "FakeChat":
        self.queue.extend(replies)
        return self

    def _next(self, messages, stop, kwargs) -> AIMessage:
        self.prompts.append(list(messages))
        self.calls.append({"stop": stop, **{k: v for k, v in kwargs.items() if k != "tools"}})
        item = self.queue.popleft() if self.queue else self.default
        return item if isinstance(item, AIMessage) else AIMessage(content=item)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages, stop, kwargs))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        msg = self._next(messages, stop, kwargs)
        if msg.tool_calls:
            yield ChatGenerationChunk(message=AIMessageChunk(content=msg.content, tool_call_chunks=[
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                for i, c in enumerate(msg.tool_calls)]))
            return
        words = str(msg.content).split(" ")
        for i, w in enumerate(words):
            yield ChatGenerationChunk(message=AIMessageChunk(content=w if i == len(words) - 1 else w + " "))

    def bind_tools(self, tools, **kwargs):
        from langchain_core.utils.function_calling import convert_to_openai_tool

        self.tools = [convert_to_openai_tool(t) for t in tools]
        return self


# --- the factory --------------------------------------------------------------------------------
def make_llm(settings: Settings, *, max_tokens: int = 96) -> BaseChatModel:
    kind = settings.llm
    if kind == "local":
        from agents.models import MODEL_FILE, MODEL_ID, model_path

        path = Path(settings.llm_model) if settings.llm_model else model_path(settings.home)
        if not path.exists():
            raise ConfigError(f"No local model at {path}: run `chatdapp model install` first.")
        return LlamaCppChat(model_path=str(path), model_id=MODEL_ID if path.name == MODEL_FILE else path.name,
                            n_threads=settings.llm_threads, max_tokens=max_tokens)
    if kind == "openai":
        from langchain_openai import ChatOpenAI

        if not settings.llm_model:
            raise ConfigError("CHATDAPP_LLM=openai needs CHATDAPP_LLM_MODEL (the endpoint's model name).")
        return ChatOpenAI(model=settings.llm_model, base_url=settings.llm_base_url,
                          api_key=settings.llm_api_key or "not-needed", temperature=0, max_tokens=max_tokens,
                          max_retries=1, timeout=60)
    if kind == "transformers":
        if not settings.llm_model:
            raise ConfigError("CHATDAPP_LLM=transformers needs CHATDAPP_LLM_MODEL (a checkpoint directory).")
        return TransformersChat(path=str(settings.llm_model), model_id=Path(settings.llm_model).name,
                                max_tokens=max_tokens, n_threads=settings.llm_threads)
    if kind == "fake":
        return FakeChat()
    raise ConfigError(f"Unknown LLM backend {kind!r}; choose one of {', '.join(BACKENDS)}.")
