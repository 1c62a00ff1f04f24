"""``tf.random.set_seed``: seeds nablanet's one generator (:func:`nablanet.set_random_seed`)."""

from nablanet.random import set_random_seed as set_seed

__all__ = ["set_seed"]
