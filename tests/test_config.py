import pytest

from rag import Config, ConfigError


def test_defaults_are_valid():
    config = Config()
    assert config.embedder == "default" and config.generator == "default"
    assert config.cache_path.name == "rag"


@pytest.mark.parametrize("changes", [
    {"chunk_chars": 50}, {"chunk_overlap": 400}, {"top_k": 0}, {"max_evidence": -1},
    {"min_confidence": 1.5}, {"embedder": " "}, {"max_new_tokens": "many"}, {"extractive_only": "yes"},
    {"min_confidence": "high"}, {"top_k": True},
])
def test_bad_settings_are_refused_with_the_setting_named(changes):
    with pytest.raises(ConfigError) as info:
        Config(**changes)
    assert next(iter(changes)) in str(info.value)


def test_config_file_sets_fields_and_rejects_unknown_keys(tmp_path):
    path = tmp_path / "rag.toml"
    path.write_text('generator = "/models/my-llm"\ntop_k = 4\n')
    config = Config.from_file(path)
    assert config.generator == "/models/my-llm" and config.top_k == 4
    path.write_text("topk = 4\n")
    with pytest.raises(ConfigError, match="topk"):
        Config.from_file(path)


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        Config().top_k = 3


def test_a_profile_sets_its_settings_and_the_users_own_win(tmp_path):
    assert Config.for_profile("fast").extractive_only
    assert Config.for_profile("accurate").generator == "qwen2.5-coder-1.5b"
    assert Config.for_profile("default") == Config()
    path = tmp_path / "rag.toml"
    path.write_text('profile = "accurate"\ngenerator = "/models/mine.gguf"\n')
    assert Config.from_file(path).generator == "/models/mine.gguf"
    path.write_text('profile = "fast"\ntop_k = 4\n')
    config = Config.from_file(path)
    assert config.extractive_only and config.top_k == 4
    assert not Config.from_file(path, profile="default").extractive_only  # the command line's --profile wins
    with pytest.raises(ConfigError, match="fastest"):
        Config.for_profile("fastest")
