"""``keras.preprocessing.image``: ``array_to_img``, ``img_to_array``, ``load_img``,
``save_img`` (:mod:`nablanet.data.image_utils`)."""

from nablanet.data import array_to_img, img_to_array, load_img, save_img

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img"]
