"""The many-class data files of bench/baseline_multiclass.sh and bench/multinomial_solvers.sh.

    python bench/multiclass_data.py DATA_DIR OUT_DIR

GoEmotions: the rows of train/dev/test that carry exactly one label (28 classes), as
ge_{train,dev,test}.csv. AG News: the 7,600-row pool split 80/10/10, stratified, seed 13,
as ag_{train,dev,test}.csv. Columns text, label.
"""
import sys

import pandas as pd

data, out = sys.argv[1], sys.argv[2]
for part in ["train", "dev", "test"]:
    df = pd.read_csv(f"{data}/goemotions/{part}.csv", keep_default_na=False)
    one = df[~df["labels"].str.contains("|", regex=False)]
    one.rename(columns={"labels": "label"})[["text", "label"]].to_csv(f"{out}/ge_{part}.csv", index=False)
df = pd.read_csv(f"{data}/ag_news/test.csv", keep_default_na=False)[["text", "label"]]
parts = {"train": [], "dev": [], "test": []}
for _, g in df.groupby("label", sort=True):
    g = g.sample(frac=1.0, random_state=13)
    n = len(g)
    a, b = int(0.8 * n), int(0.9 * n)
    parts["train"].append(g[:a])
    parts["dev"].append(g[a:b])
    parts["test"].append(g[b:])
for k, v in parts.items():
    pd.concat(v).sample(frac=1.0, random_state=13).to_csv(f"{out}/ag_{k}.csv", index=False)
