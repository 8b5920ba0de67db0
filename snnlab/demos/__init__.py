"""Teaching demos: small models with sliders-worth of parameters (the UI lives in snnlab.ui)."""
