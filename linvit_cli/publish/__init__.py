"""`linvit push`: a trained model as a Hub model repository (folder.py), its model card (card.py), the upload
(upload.py)."""
