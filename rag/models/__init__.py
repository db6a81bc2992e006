"""The models (embedders, generator) and the engines that run them."""
