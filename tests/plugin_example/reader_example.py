class ShoutingReader:
    """Example third-party recognizer: reads every crop as 'HELLO' (a stand-in for a real model)."""

    name = "shouting-example"

    def __init__(self, device="cpu"):
        self.device = device

    def recognize(self, images):
        # images: list of (H, W, 3) uint8 RGB crops; return one (text, confidence) per crop
        return [("HELLO", 1.0) for _ in images]
