"""Writes mixed_80_20.csv: the request lengths of a mixed workload after Melange's "Mixed_80_20" (Griggs et al.,
arXiv:2404.14527): 80% short conversational requests and 20% long summarization requests, in a shuffled order.

Short (Chatbot Arena / LMSYS-Chat-1M): mean 69.5 prompt and 214.5 response tokens per turn (LMSYS-Chat-1M paper,
Table 1, as quoted in the reference notes; unverified). Long: the arXiv-summarization trace as capped by Vidur
(prompt and output together at most 4096 tokens: prompt mean 2588, P50 2730, P90 3702; output mean 291, P50 167,
P90 372; computed from the trace), standing in
for Melange's PubMed set, whose statistics the notes do not give. Lengths are lognormal with these means.
The arrival column is a placeholder: --find-mix draws its own arrivals and uses the lengths only.
"""
import math
import random

def lognormal(rng, mean, sd):
    s2 = math.log(1 + (sd / mean) ** 2)
    return rng.lognormvariate(math.log(mean) - s2 / 2, math.sqrt(s2))

rng = random.Random(2404_14527)
rows = []
for i in range(250):
    if i % 5 == 4:
        p = min(3700, max(1024, round(lognormal(rng, 2588, 900))))
        o = min(4096 - p, max(1, round(lognormal(rng, 291, 250))))
    else:
        p = min(1023, max(1, round(lognormal(rng, 69.5, 60))))
        o = min(1024, max(1, round(lognormal(rng, 214.5, 150))))
    rows.append((p, o))
rng.shuffle(rows)
with open("mixed_80_20.csv", "w") as f:
    f.write("arrival_s,prompt_tokens,output_tokens\n")
    for i, (p, o) in enumerate(rows):
        f.write(f"{i * 0.1:.1f},{p},{o}\n")
