"""``nablanet run encoder-decoder``: an encoder–decoder (chapter §8.4) learns to add numbers
written as text, e.g. ``"57+8"`` → ``"65"`` (input and output of different lengths).

* **Encoder** (sequence to vector): ``Embedding(mask_zero=True) → LSTM(units,
  return_state=True)``; its final states :math:`(h_T, c_T)` summarise the question.
* **Decoder** (vector to sequence): ``Embedding → LSTM(units, return_sequences=True,
  return_state=True)`` started from the encoder's states (``initial_state=[h, c]``) →
  ``Dense(vocabulary, softmax)``.
* **Training** uses *teacher forcing*: the decoder's input is START followed by the true
  answer's digits, its target the answer followed by END.
* **Inference** is *greedy decoding*: an encoder model gives the states, then a one-step
  decoder model (the same layers) is fed its own most likely token until END.

With the defaults (two-digit numbers; the held-out questions were never seen in training) the
exact-match accuracy of greedy decoding is printed; the figure
``runs/encoder-decoder/encoder_decoder.png`` shows learning curves and sample answers.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from nablanet.experiments import sequence_data as data


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data.add_common_arguments(parser, epochs=30, samples=8000, units=96,
                              out="runs/encoder-decoder")
    parser.add_argument("--digits", type=int, default=2, help="digits per number (default 2)")


def build_models(units: int, embed: int = 16) -> tuple[Any, Any, Any]:
    """``(training_model, encoder_model, decoder_step_model)`` sharing their layers."""
    from nablanet import layers, models

    enc_in = layers.Input(shape=(None,), name="question")
    dec_in = layers.Input(shape=(None,), name="answer_so_far")
    enc_emb = layers.Embedding(data.VOCABULARY, embed, mask_zero=True)
    encoder = layers.LSTM(units, return_state=True)
    dec_emb = layers.Embedding(data.VOCABULARY, embed)
    decoder = layers.LSTM(units, return_sequences=True, return_state=True)
    readout = layers.Dense(data.VOCABULARY, activation="softmax")

    _, h, c = encoder(enc_emb(enc_in))
    dec_seq, _, _ = decoder(dec_emb(dec_in), initial_state=[h, c])
    training = models.Model([enc_in, dec_in], readout(dec_seq))

    encoder_model = models.Model(enc_in, [h, c])
    h_in = layers.Input(shape=(units,), name="h")
    c_in = layers.Input(shape=(units,), name="c")
    step_seq, h_out, c_out = decoder(dec_emb(dec_in), initial_state=[h_in, c_in])
    decoder_model = models.Model([dec_in, h_in, c_in], [readout(step_seq), h_out, c_out])
    return training, encoder_model, decoder_model


def greedy_decode(encoder_model: Any, decoder_model: Any, questions: np.ndarray,
                  max_length: int) -> np.ndarray:
    """Decode every question at once, feeding back the most likely token at each step."""
    import nablanet as nb

    with nb.no_grad():
        h, c = encoder_model(questions.astype(np.float32), training=False)
        token = np.full((len(questions), 1), data.START, dtype=np.float32)
        out = np.empty((len(questions), max_length), dtype=np.int64)
        for step in range(max_length):
            probs, h, c = decoder_model([token, h, c], training=False)
            out[:, step] = probs.data[:, 0].argmax(axis=-1)
            token = out[:, step:step + 1].astype(np.float32)
    return out


def main(args: argparse.Namespace) -> int:
    import nablanet as nb
    from nablanet import optimizers
    from nablanet.plotting import save_figure

    data.check_positive("encoder-decoder", args, "epochs", "samples", "units", "batch_size",
                        "digits")
    out = Path(args.out)
    nb.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    top = 10 ** args.digits
    total = top * top
    n_train = min(args.samples, int(total * 0.8))
    chosen = rng.choice(total, size=n_train + min(max(n_train // 4, 50), total - n_train),
                        replace=False)
    pairs = np.stack([chosen // top, chosen % top], axis=1)
    train = data.addition_problems(pairs[:n_train], args.digits)
    test_pairs = pairs[n_train:]
    test = data.addition_problems(test_pairs, args.digits)

    model, encoder_model, decoder_model = build_models(args.units)
    model.compile(optimizer=optimizers.Adam(learning_rate=0.005, clipnorm=1.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = data.Timer()
    data.announce(args, f"encoder-decoder: training on {n_train} {args.digits}-digit additions "
                        f"(teacher forcing)")
    history = model.fit([train["encoder"], train["decoder_in"]], train["target"],
                        epochs=args.epochs, batch_size=args.batch_size, verbose=args.verbose)
    seconds = timer.seconds
    decoded = greedy_decode(encoder_model, decoder_model, test["encoder"], args.digits + 2)
    answers = [data.decode_tokens(row) for row in decoded]
    truth = [str(int(a) + int(b)) for a, b in test_pairs]
    accuracy = float(np.mean([a == t for a, t in zip(answers, truth)]))
    print(f"encoder-decoder: {args.digits}-digit addition as text, LSTM({args.units}) encoder "
          f"and decoder, {n_train} questions, {args.epochs} epochs in {seconds:.1f} s")
    print(f"  training loss {history.history['loss'][0]:.3f} → {history.history['loss'][-1]:.3f}"
          f" (teacher forcing; token accuracy {history.history['accuracy'][-1]:.1%})")
    print(f"  greedy decoding, exact answers on {len(test_pairs)} unseen questions: "
          f"{accuracy:.1%}")
    for (a, b), answer in list(zip(test_pairs, answers))[:5]:
        print(f"    {a}+{b} = {answer}  ({'ok' if answer == str(a + b) else 'wrong'})")

    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    epochs = np.arange(1, args.epochs + 1)
    axes[0].plot(epochs, history.history["loss"], "o-")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("cross-entropy per answer token")
    axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_title("Training loss (teacher forcing)")
    axes[1].axis("off")
    lines = [f"{a}+{b} = {ans} {'✓' if ans == str(a + b) else '✗ (' + str(a + b) + ')'}"
             for (a, b), ans in list(zip(test_pairs, answers))[:12]]
    axes[1].text(0.0, 1.0, "Greedy decoding on unseen questions\n\n" + "\n".join(lines),
                 va="top", family="monospace")
    fig.suptitle(f"Encoder–decoder addition — exact-match accuracy {accuracy:.1%}")
    png = save_figure(fig, out / "encoder_decoder.png")
    data.write_summary(out, history, seconds, accuracy=accuracy)
    print(f"Saved {png}")
    return 0
