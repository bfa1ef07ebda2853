"""Random-init base models of the modern families, built offline from their configs with
transformers (for bench/modern_speed.sh): ModernBERT-base, DeBERTa-v3-base and ELECTRA-base
shapes (layers, widths, vocabularies and attention settings of answerdotai/ModernBERT-base,
microsoft/deberta-v3-base and google/electra-base-discriminator), a 2-class head, seed 0,
saved with save_pretrained (safetensors) into OUT/<family>.

    python bench/modern_configs.py OUT
"""
import sys

import torch
from transformers import (AutoModelForSequenceClassification, DebertaV2Config, ElectraConfig,
                          ModernBertConfig)

LABELS = dict(id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1})

CONFIGS = {
    "modernbert-base": ModernBertConfig(
        vocab_size=50368, hidden_size=768, num_hidden_layers=22, num_attention_heads=12,
        intermediate_size=1152, max_position_embeddings=8192, global_attn_every_n_layers=3,
        local_attention=128, pad_token_id=50283, cls_token_id=50281, sep_token_id=50282,
        bos_token_id=50281, eos_token_id=50282, classifier_pooling="mean", **LABELS),
    "deberta-v3-base": DebertaV2Config(
        vocab_size=128100, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, max_position_embeddings=512, relative_attention=True,
        position_biased_input=False, pos_att_type=["p2c", "c2p"], position_buckets=256,
        max_relative_positions=-1, norm_rel_ebd="layer_norm", share_att_key=True,
        type_vocab_size=0, layer_norm_eps=1e-7, pooler_hidden_size=768, pad_token_id=0, **LABELS),
    "electra-base": ElectraConfig(
        vocab_size=30522, embedding_size=768, hidden_size=768, num_hidden_layers=12,
        num_attention_heads=12, intermediate_size=3072, max_position_embeddings=512, **LABELS),
}

if __name__ == "__main__":
    out = sys.argv[1]
    for name, cfg in CONFIGS.items():
        torch.manual_seed(0)
        AutoModelForSequenceClassification.from_config(cfg).save_pretrained(
            f"{out}/{name}", safe_serialization=True)
        print(f"{out}/{name}")
