import pandas as pd

from reports.markdown import cell_tables, to_markdown


def test_markdown_tables():
    assert to_markdown(pd.DataFrame({"a": ["x"], "b": [0.12345]})) == "| a | b |\n| --- | --- |\n| x | 0.123 |"
    summary = pd.DataFrame([
        dict(dataset="d", recognizer="r", brightness=1.0, noise=0.0, restorer="identity", n=2, accuracy=1.0, ned=1.0),
        dict(dataset="d", recognizer="r", brightness=0.5, noise=0.1, restorer="identity", n=2, accuracy=0.5, ned=0.75),
        dict(dataset="d", recognizer="r", brightness=0.5, noise=0.1, restorer="sci", n=2, accuracy=0.0, ned=0.25),
    ])
    text = cell_tables(summary)
    assert "| clean | 1.000 / 1.000 |  |" in text
    assert "| b=0.5 σ=0.1 | 0.500 / 0.750 | 0.000 / 0.250 |" in text
