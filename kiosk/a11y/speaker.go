// Package a11y is the terminal's self-voicing screen reader, without Fyne:
// the accessibility tree a screen builds alongside its widgets (role,
// label in every language, state, action), the focus that keypad keys
// move, and what is spoken, through a Speaker, as the focus moves.
package a11y

// Utterance is one thing to say.
type Utterance struct {
	// Text in the language Lang (a catalog language: "de", "uk", …).
	Text string
	Lang string
	// Rate in words per minute and Volume in per cent (100 = normal);
	// zero means the speaker's default. The reader owns both: they are a
	// session's settings and reset when it ends.
	Rate, Volume int
	// Private marks text with digits of personal data: a speaker plays
	// it only into the headphones and drops it when none are plugged in.
	Private bool
}

// Speaker says utterances aloud (kiosk/speech runs espeak-ng; tests use
// a11ytest.Recorder). Say interrupts whatever is being said and returns
// at once: speech runs in the background, so a key press is never held
// up by the speech before it. Stop silences the speaker (within 100 ms).
type Speaker interface {
	Say(u Utterance)
	Stop()
}
