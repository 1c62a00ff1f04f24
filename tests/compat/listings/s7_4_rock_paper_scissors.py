# Chapter §7.4, "Image Classification Example": every listing of the section in order, with
# only the import lines changed. PDF artefacts are repaired, nothing else: comments the PDF
# wrapped onto a second line are joined, and the LaTeX line
# ``\lstinputlisting[firstline=100,lastline=100]{dl-scripts/cnn-ex1-colab.py}`` printed in
# place of the second model's evaluation is written out as the ``model.evaluate(ds_test)`` of
# the other three models. The f-string the PDF broke inside its braces is joined (a line
# break there is a syntax error before Python 3.12).
#
# ``tfds.load('rock_paper_scissors')`` downloads the published archives when they are not on
# disk, as TFDS does (the test serves tiny archives in the published layout from a loopback
# server); run it with the Agg backend (MPLBACKEND=Agg) so that ``plt.show()`` draws nothing.
# ruff: noqa: E501, E402
import nablanet.compat.tensorflow as tf
from nablanet.compat.tensorflow.keras import layers, models, Input
from nablanet.compat.tensorflow.keras.callbacks import EarlyStopping

import nablanet.compat.tensorflow_datasets as tfds
import matplotlib.pyplot as plt
import numpy as np

tf.keras.utils.set_random_seed(42) # Set random seed for reproducibility

(ds_train, ds_val, ds_test) = tfds.load(
    'rock_paper_scissors',
    split=['train[:70%]', 'train[70%:]', 'test'],
    shuffle_files=True,
    as_supervised=True
)

def preprocess(image, label):
    image = tf.cast(image, tf.float32) / 255.0 # Normalize images
    image = tf.image.resize(image, [128, 128]) # Resize images
    return image, label

BATCH_SIZE = 32
SHUFFLE_BUFFER_SIZE = 1000

ds_train = ds_train.map(preprocess).shuffle(
    SHUFFLE_BUFFER_SIZE).batch(BATCH_SIZE) # shuffle so the model doesn't learn the order of the training data
ds_val = ds_val.map(preprocess).batch(BATCH_SIZE)
ds_test = ds_test.map(preprocess).batch(BATCH_SIZE)

input_shape = (128, 128, 3)

model = models.Sequential([
    layers.Input(shape=input_shape),
    layers.Conv2D(16, (3, 3), activation='relu'), # Convolution step
    layers.MaxPooling2D((2, 2)), # Pooling step
    layers.Flatten(), # Flattening for classification
    layers.Dense(128, activation='relu'), # Dense layer before final classification layer
    layers.Dense(3) # 3 classes
])

model.compile(optimizer='adam',
              loss=tf.keras.losses.
                SparseCategoricalCrossentropy(from_logits=True),
              metrics=['accuracy']
            )

early_stop = EarlyStopping(
    monitor='val_loss',
    min_delta=0.001,
    patience=3,
    verbose=1,
    mode='auto',
    restore_best_weights=True
)

history = model.fit(ds_train, epochs=10, validation_data=(
    ds_val), callbacks=[early_stop])

model.evaluate(ds_test)

model = models.Sequential([
    layers.Input(shape=input_shape),
    layers.Conv2D(16, (3, 3), activation='relu'), # First convolution step
    layers.MaxPooling2D((2, 2)), # First pooling step
    layers.Conv2D(32, (3, 3), activation='relu'), # Second convolution step
    layers.MaxPooling2D((2, 2)), # Second pooling step
    layers.Flatten(), # Flattening for classification
    layers.Dense(128, activation='relu'), # Dense layer before final classification layer
    layers.Dense(3) # 3 classes
])

model.compile(optimizer='adam',
              loss=tf.keras.losses.
SparseCategoricalCrossentropy(from_logits=True),
              metrics=['accuracy'])

history = model.fit(ds_train, epochs=10, validation_data=(
ds_val), callbacks=[early_stop])

model.evaluate(ds_test)

model = models.Sequential([
    layers.Input(shape=input_shape),
    layers.Conv2D(16, (3, 3), activation='relu'), # First convolution step
    layers.MaxPooling2D((2, 2)), # First pooling step
    layers.Conv2D(32, (3, 3), activation='relu'), # Second convolution step
layers.MaxPooling2D((2, 2)), # Second pooling step
layers.Conv2D(64, (3, 3), activation='relu'), # Third convolution step
layers.MaxPooling2D((2, 2)), # Third pooling step
layers.Flatten(), # Flattening for classification
layers.Dense(128, activation='relu'), # Dense layer before final classification layer
layers.Dense(3) # 3 classes
])

model.compile(optimizer='adam',
              loss=tf.keras.losses.
              SparseCategoricalCrossentropy(from_logits=True),
              metrics=['accuracy'])

history = model.fit(ds_train, epochs=10, validation_data=(
    ds_val), callbacks=[early_stop])

model.evaluate(ds_test)

model = models.Sequential([
    layers.Input(shape=input_shape),
    layers.Conv2D(16, (3, 3), activation='relu'), # First convolution step
    layers.MaxPooling2D((2, 2)), # First pooling step
    layers.Conv2D(32, (3, 3), activation='relu'), # Second convolution step
    layers.MaxPooling2D((2, 2)), # Second pooling step
    layers.Conv2D(64, (3, 3), activation='relu'), # Third convolution step
    layers.MaxPooling2D((2, 2)), # Third pooling step
    layers.Conv2D(128, (3, 3), activation='relu'), # Fourth convolution step
    layers.MaxPooling2D((2, 2)), # Fourth pooling step
    layers.Flatten(), # Flattening for classification
    layers.Dense(128, activation='relu'), # Dense layer before final classification layer
    layers.Dense(3) # 3 classes
])

model.compile(optimizer='adam',
              loss=tf.keras.losses.
                SparseCategoricalCrossentropy(from_logits=True),
              metrics=['accuracy'])

history = model.fit(ds_train, epochs=10, validation_data=(
    ds_val), callbacks=[early_stop])

model.evaluate(ds_test)

def plot_learning_curves(history):
    plt.figure(figsize=(12, 8))

    plt.subplot(2, 2, 1)
    plt.plot(history.history['loss'], label='loss')
    plt.plot(history.history['val_loss'], label='val_loss')
    plt.title('Loss evolution during training')
    plt.legend()

    plt.subplot(2, 2, 2)
    plt.plot(history.history['accuracy'], label='accuracy')
    plt.plot(history.history['val_accuracy'], label='val_accuracy')
    plt.title('Accuracy score evolution during training')
    plt.legend();

plot_learning_curves(history)

# Make predictions on the test set
test_images, test_labels = [], []
for images, labels in ds_test:
    test_images.append(images.numpy())
    test_labels.append(labels.numpy())
test_images = np.concatenate(test_images)
test_labels = np.concatenate(test_labels)

predictions = model.predict(test_images)
predicted_labels = np.argmax(predictions, axis=1)

# Identify correct and incorrect predictions
correct_predictions = predicted_labels == test_labels
incorrect_predictions = predicted_labels != test_labels

# Get indices for correct and incorrect predictions
correct_indices = np.where(correct_predictions)[0]
incorrect_indices = np.where(incorrect_predictions)[0]

# Function to plot images with their predictions and true labels
def plot_predictions(images, true_labels, predicted_labels,
                    indices, title):
    plt.figure(figsize=(10, 10))
    for i, index in enumerate(indices[:25]): # Plot the first 25 images
        plt.subplot(5, 5, i + 1)
        plt.imshow(images[index])
        plt.title(f"True: {true_labels[index]}, Pred: {predicted_labels[index]}")
        plt.axis('off')
    plt.suptitle(title)
    plt.show()

# Plot correct predictions

plot_predictions(test_images, test_labels, predicted_labels,
                 correct_indices, title="Correct Predictions")

# Plot incorrect predictions
plot_predictions(test_images, test_labels, predicted_labels,
                 incorrect_indices, title="Incorrect Predictions")
