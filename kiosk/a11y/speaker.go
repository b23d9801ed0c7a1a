// Package a11y is the terminal's self-voicing screen reader, without Fyne:
// the accessibility tree a screen builds alongside its widgets (role,
// label in every language, state, action), the focus that keypad keys
// move, and what is spoken, through a Speaker, as the focus moves.
//
// # Speech mode
//
// Speech mode is off until the first key press (which only starts it:
// a short welcome naming the keys, then the screen) or headphones being
// plugged in (Reader.SetHeadphones). A new screen is said as its title,
// how many items it has, what it announces (a reference number, a
// ticket's number, that the receipt is printed below the screen), then
// the focused item: its label, role word and state ("Large text,
// switch, off"), a button's hint where its label does not say what it
// does ("Finish, button, deletes your entries and ends the session"), a
// text field's text (only into headphones; else how many characters it
// has). Codes such as a reference number are spelled (Spell): a speech
// engine reads "K7EX" as a word. Every utterance interrupts the one before, so one
// action gives one utterance. Volume and rate are the session's: they
// return to the defaults when it ends, and speech mode ends with it
// unless headphones are still plugged in; its end is said ("The session
// has ended. Your entries are deleted."). Labels marked Private (digits
// of personal data) are said only while headphones are in.
//
// # Keys (EZ Access)
//
// Key names are Fyne's (fyne.KeyName values are strings, so this
// package needs no Fyne). The window writes a numeric keypad's digit
// keys as `KP_0`…`KP_9` (the X11 keypad scan codes) and Tab with Shift
// held as `Shift+Tab`.
//
//	Previous      `Up`, `Left`, `Shift+Tab`, `KP_8`, `KP_4`
//	Next          `Down`, `Right`, `Tab`, `KP_2`, `KP_6`
//	Enter         `Return`, `KP_Enter`, `KP_5` (as a tap on the item)
//	Back          `Escape`, `BackSpace` (the screen's back item, else home)
//	Help          `F1`, `KP_Divide`, `/` (help for the screen shown)
//	Repeat        `F2`, `KP_Multiply`, `*` (the last utterance again)
//	Volume up     `KP_Add`, `+`
//	Volume down   `KP_Subtract`, `-`
//	Faster        `Prior` (page up), `KP_9`
//	Slower        `Next` (page down), `KP_3`
//
// Previous and Next go round: past the last item comes the first, said
// with "end of the list". Where a screen has a text to write, a
// keyboard types into it (kiosk/ui): there Backspace deletes and + - * /
// are characters, while Escape and the numeric keypad keep their
// meaning.
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
