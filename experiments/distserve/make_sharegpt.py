"""Writes sharegpt_2048.csv: 4000 ShareGPT request lengths filtered as DistServe's chatbot workload is.

Source: sharegpt_8k_filtered_stats_llama2_tokenizer.csv, microsoft/sarathi-serve, branch niyama_asplos2026
(commit 72339db5b120614033b317880ad3a05a5e4c9415, data/processed_traces/; git blob
85fc0434bc46d2b68351dfb86a43a995877dbb0e, sha256 6d6c296302a853e2669a674a96f269283e60c57e60363bd450588a1066919f9f),
Apache License 2.0 (the repository's LICENSE, Copyright Microsoft). 30,731 rows of per-request token counts
(num_prefill_tokens, num_decode_tokens) of ShareGPT conversations counted with the LLaMA-2 tokenizer, capped at
8192 tokens; prompts are multi-turn (mean 2340, P50 1730 tokens). Only the two counts are used here, no text.

Filter, as DistServe's evaluation/2-benchmark-serving/0-prepare-dataset.py drops its ShareGPT pairs: keep a row
when prompt + output < 2048 tokens (OPT-13B's context) and not both prompt and output < 4. 14,561 rows pass; every
third of them in file order, the first 4000, is kept (a systematic sample: no random numbers).

Differences from DistServe's own dataset: the tokenizer is LLaMA-2's, not OPT's; the conversations are this trace's
(how its rows were cut from the conversations is not documented with it), not a fresh draw of k of a
conversation's messages. The arrival column is a placeholder (4 requests/s, evenly spaced): --find-capacity draws
its own arrivals and takes the lengths only.

Usage: python3 make_sharegpt.py path/to/sharegpt_8k_filtered_stats_llama2_tokenizer.csv
"""
import csv
import sys

with open(sys.argv[1], newline="") as f:
    rows = [(int(r["num_prefill_tokens"]), int(r["num_decode_tokens"])) for r in csv.DictReader(f)]
kept = [(p, o) for p, o in rows if p + o < 2048 and not (p < 4 and o < 4)]
sample = kept[::3][:4000]
with open("sharegpt_2048.csv", "w", newline="") as f:
    f.write("arrival_s,prompt_tokens,output_tokens\n")
    for i, (p, o) in enumerate(sample):
        f.write(f"{i * 0.25:.2f},{p},{o}\n")
print(f"{len(rows)} rows, {len(kept)} pass the filter, {len(sample)} written")
