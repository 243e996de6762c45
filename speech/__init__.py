"""Speech: Vosk models, spoken-number normalisation, TTS (recognition grows here)."""
