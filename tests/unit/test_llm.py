"""The LLM backends: OpenAI-compatible against a local stub server, transformers on a tiny checkpoint
built here, the fake, and the factory's configuration errors."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agents.extract import extract, intent_schema, to_candidate
from agents.llm import FakeChat, TransformersChat, make_llm
from app.config import Settings
from app.errors import ConfigError

pytestmark = pytest.mark.unit


class _Stub(BaseHTTPRequestHandler):
    requests: list = []

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Stub.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        text = "Hello from the stub." if "response_format" not in body else '{"kind":"unknown"}'
        base = {"id": "c1", "created": 1, "model": body["model"]}
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for i, piece in enumerate(["Hello ", "from ", "the ", "stub."]):
                delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
                chunk = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            end = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            return
        out = json.dumps({**base, "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
                          "message": {"role": "assistant", "content": text}}],
                          "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@pytest.fixture
def stub():
    _Stub.requests = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    srv.server_close()


def test_openai_backend_speaks_the_protocol_with_streaming(stub, tmp_path):
    llm = make_llm(Settings(home=tmp_path, llm="openai", llm_model="stub-model", llm_base_url=stub, llm_api_key="k1"))
    msgs = [SystemMessage("Be brief."), HumanMessage("hi")]
    assert llm.invoke(msgs).content == "Hello from the stub."
    parts = [c.content for c in llm.stream(msgs)]
    assert "".join(parts) == "Hello from the stub." and len([p for p in parts if p]) == 4
    first, second = _Stub.requests
    assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer k1"
    assert first["body"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert second["body"]["stream"] is True


def test_openai_extraction_sends_the_json_schema(stub, tmp_path):
    llm = make_llm(Settings(home=tmp_path, llm="openai", llm_model="m", llm_base_url=stub))
    assert extract(llm, "do a thing") is None
    rf = _Stub.requests[-1]["body"]["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["schema"]["properties"]["kind"]["enum"][-1] == "unknown"


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A random 2-layer LLaMA with a word-level tokenizer, built and saved locally (no hub)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    import torch

    torch.manual_seed(0)
    words = "<unk> <pad> <eos> system user assistant : hello wallet hold send eth the a is of you your".split()
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")
    fast.chat_template = "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}assistant :"
    cfg = LlamaConfig(vocab_size=len(words), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
                      pad_token_id=1, eos_token_id=2, bos_token_id=2)
    path = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(cfg).save_pretrained(path)
    fast.save_pretrained(path)
    return path


def test_transformers_backend_loads_a_local_checkpoint_and_streams(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    llm = make_llm(Settings(home=tmp_path, llm="transformers", llm_model=str(tiny_checkpoint)), max_tokens=5)
    assert isinstance(llm, TransformersChat)
    msgs = [SystemMessage("hello"), HumanMessage("what do you hold")]
    out = llm.invoke(msgs).content
    streamed = "".join(c.content for c in llm.stream(msgs))
    assert out.strip() and set(out.split()) <= set("<unk> <pad> <eos> system user assistant : hello wallet hold send eth the a is of you your".split())
    assert streamed.split() == out.split()  # greedy: both paths produce the same tokens


def test_transformers_rejects_a_directory_that_is_not_a_checkpoint(tmp_path):
    llm = make_llm(Settings(home=tmp_path, llm="transformers", llm_model=str(tmp_path)))
    with pytest.raises(ConfigError, match="not a Hugging Face checkpoint"):
        llm.invoke("hi")


def test_factory_configuration_errors(tmp_path):
    with pytest.raises(ConfigError, match="model install"):
        make_llm(Settings(home=tmp_path, llm="local"))
    with pytest.raises(ConfigError, match="CHATDAPP_LLM_MODEL"):
        make_llm(Settings(home=tmp_path, llm="openai"))
    with pytest.raises(ConfigError, match="Unknown LLM backend"):
        make_llm(Settings(home=tmp_path, llm="gpt-9"))
    assert isinstance(make_llm(Settings(home=tmp_path, llm="fake")), FakeChat)


def test_fake_records_prompts_and_kwargs():
    f = FakeChat().enqueue("one", "two")
    assert f.invoke("a").content == "one"
    assert "".join(c.content for c in f.stream("b")) == "two"
    assert f.invoke("c").content == f.default
    assert [p[0].content for p in f.prompts] == ["a", "b", "c"]


def test_extractor_drops_invented_addresses_and_fields_of_other_kinds():
    text = "send half a WBTC to 0xbde527584625ff7fe5e64be2ac7a077f04a36b5f"
    raw = {"kind": "erc20_transfer", "amount": "0.5", "token": "WBTC", "to": "0xbde527584625ff7fe5e64be2ac7a077f04a36b5f",
           "spender": "ROUTER", "token_out": None, "token_id": None}
    assert to_candidate(raw, text) == {"kind": "erc20_transfer", "amount": "0.5", "token": "WBTC",
                                       "to": "0xbde527584625ff7fe5e64be2ac7a077f04a36b5f"}
    invented = {**raw, "to": "0x0000000000000000000000000000000000000000"}
    assert "to" not in to_candidate(invented, text)
    assert to_candidate({"kind": "unknown"}, text) is None
    assert to_candidate({"kind": "erc20_approve", "amount": "max", "token": "USDC", "spender": "VAULT"}, "x") == {
        "kind": "erc20_approve", "unlimited": True, "token": "USDC", "spender": "VAULT"}
    swap = to_candidate({"kind": "swap_exact_in", "amount": "1", "token": "DAI", "token_out": "LINK"}, "x")
    assert swap == {"kind": "swap_exact_in", "amount": "1", "token_in": "DAI", "token_out": "LINK"}


def test_extract_with_the_fake_passes_the_schema_and_parses_json():
    f = FakeChat().enqueue('noise {"kind": "wrap", "amount": "1", "token": null, "to": null}')
    assert extract(f, "wrap 1 eth", ["ETH", "WETH"]) == {"kind": "wrap", "amount": "1"}
    assert f.calls[0]["response_format"] == intent_schema(["ETH", "WETH"])
    assert f.prompts[0][1].content == "wrap 1 eth"
