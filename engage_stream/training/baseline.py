"""The linear baseline every model is reported beside: TF-IDF char 1-4-grams + linear SVM."""

from __future__ import annotations

from engage_stream.training.corpora import Corpus
from engage_stream.training.metrics import ClassificationMetrics, classification_metrics
from engage_stream.training.splits import Split


def tfidf_svm(corpus: Corpus, data: Split) -> tuple[ClassificationMetrics, dict[str, object]]:
    """Best of a small grid, chosen on the validation split: generous to the baseline."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True)
    features = vectorizer.fit_transform(data.train_texts)
    val_features = vectorizer.transform(data.val_texts)
    best: tuple[ClassificationMetrics, dict[str, object]] | None = None
    for c in (0.3, 1.0):
        model = LinearSVC(C=c, class_weight="balanced").fit(features, data.train_labels)
        predicted = model.predict(val_features).tolist()
        metrics = classification_metrics(data.val_labels, predicted, corpus.label_names)
        if best is None or metrics.macro_f1 > best[0].macro_f1:
            best = (
                metrics,
                {"analyzer": "char", "ngram_range": [1, 4], "C": c, "class_weight": "balanced"},
            )
    assert best is not None
    return best


def tfidf_svm_predict(data: Split, params: dict[str, object], texts: list[str]) -> list[int]:
    """The baseline with `params` (as `tfidf_svm` chose them) fitted on the training side,
    predicting `texts`: to score it on a check set beside the model."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True)
    features = vectorizer.fit_transform(data.train_texts)
    model = LinearSVC(C=float(params["C"]), class_weight="balanced")  # type: ignore[arg-type]
    model.fit(features, data.train_labels)
    predicted: list[int] = model.predict(vectorizer.transform(texts)).tolist()
    return predicted
