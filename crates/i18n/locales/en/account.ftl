## Signing in, one's own account and security, and the help centre.

security-title = Security
security-heading = Sign-in security
security-needs-factor = Your role requires a second factor. Set one up to continue.
security-app = Authenticator app
security-app-set = An authenticator app is set up.
security-app-remove = Remove authenticator app
security-app-explained = Use an app such as a password manager or an authenticator to produce six-digit codes.
security-app-add = Set up an authenticator app
security-passkeys = Passkeys and security keys
security-no-passkeys = No passkeys yet.
security-added = added { $when }
security-last-used = , last used { $when }
security-remove = Remove
security-passkey-name = Name for a new passkey
security-passkey-add = Add a passkey or security key
security-codes-once = Your recovery codes. Each signs you in once if you lose your second factor; they are shown only now.
security-codes-saved = I have saved them
security-password = Password
security-new-password = New password
security-password-hint = At least 12 characters; long phrases are best. Changing it signs you out on every other device.
security-password-change = Change password
security-codes = Recovery codes
security-codes-left = { $count ->
    [one] 1 unused recovery code.
   *[other] { $count } unused recovery codes.
}
security-codes-new = Make new recovery codes

second-title = Second step
second-heading = Confirm it is you
second-passkey = Use a passkey or security key
second-code = Code from your authenticator app
second-continue = Continue
second-recovery-instead = Use a recovery code instead
second-recovery-code = Recovery code
second-cancel = Cancel and sign out

devices-title = Devices
devices-heading = Where you are signed in
devices-device = Device
devices-address = Address
devices-signed-in = Signed in
devices-last-seen = Last seen
devices-this = this device
devices-sign-out = Sign out
devices-sign-out-others = Sign out everywhere else

reset-title = Reset your password
reset-sent = If an account uses that address, a link to choose a new password is on its way. It works once, for 15 minutes.
reset-back = Back to sign in
reset-explained = Enter the address of your account. We will email a link to choose a new password; you will still need your second factor to sign in.
reset-email = Email
reset-send = Email me a link

setup-title = Choose a password
setup-explained = Use at least 12 characters. A long passphrase is best; there are no other rules.
setup-new-password = New password
setup-save = Save password

welcome-title = Welcome
welcome-heading = Welcome to Palisade
welcome-explained = You are setting up this desk's first administrator. Next you choose a password, then a second factor (an authenticator app or a passkey). This link works once.
welcome-name = Your name
welcome-email = Your email address
welcome-continue = Continue

confirm-title = Confirm your message
confirm-heading = Did you write to us?
confirm-explained = Our support team received a message in your name that did not come through a channel proving who sent it. If you sent it, confirm it to follow it and our replies in your account.
confirm-yes = Yes, I sent it
confirm-no = If you did not, close this page: the message stays out of your account.

codes-title = Recovery codes
codes-heading = Your recovery codes
codes-explained = Each code signs you in once if you lose your second factor. Keep them somewhere safe: they are shown only now.
codes-saved = I have saved them

totp-title = Set up an authenticator app
totp-scan = Scan this code with your app, or type the key.
totp-qr = QR code holding the key below
totp-code = Code shown by the app
totp-confirm = Confirm

stepup-title = Confirm it is you
stepup-explained = This change needs you to sign in again.
stepup-password = Password
stepup-code = Code from your authenticator app, or a recovery code
stepup-confirm = Confirm

help-title = Help centre
help-assistant = Assistant
help-sign-in = Sign in
help-search = Search
help-found = { $count ->
    [one] 1 article found.
   *[other] { $count } articles found.
}
help-nothing = Nothing matched. Try other words, or
help-ask-us = ask us
help-no-articles = No articles yet.
help-updated = updated { $when }

assistant-title = Assistant
assistant-heading = Support assistant
assistant-privacy = Privacy notice
assistant-how = How would you like to be helped?
assistant-agree = I agree to talk to the automated assistant
assistant-people-only = People only: never give me automated answers
assistant-start = Start
assistant-signed-in = Signed in: the assistant can see your own tickets.
assistant-anonymous = Not signed in: the assistant cannot see any account.
assistant-chose-people = You chose people only.
assistant-you = You
assistant-name = Assistant
assistant-removed = We removed something from your message before keeping it ({ $name }). Never share passwords, codes or card numbers.
assistant-your-message = Your message
assistant-send = Send
assistant-hand-over-title = Hand over to a person
assistant-reply-to = Email address to reply to
assistant-confirm-hand-over = Yes, send this conversation to the support team
assistant-hand-over = Hand over
assistant-start-again = Start again
passkey-added = Passkey added.
passkey-unsupported = This browser does not support passkeys.
passkey-prompt = Follow your browser's prompt…
passkey-failed = That did not work:
passkey-default-name = Passkey
widget-box = Support assistant
widget-into-ticket = Add this conversation to #
widget-removed = Removed from your message before it was kept:
widget-unverified = We could not confirm who you are. Reload the page, or sign in to the support portal.
widget-failed = Something went wrong:
widget-email = Your email address
widget-hand-over = Hand over to a person
widget-question = Your question
widget-send = Send
widget-anonymous = You are not signed in: the assistant cannot see any account details.
widget-verified = You are signed in: the assistant can list your own tickets.
widget-privacy = Privacy notice
widget-agree = Agree and start
widget-people-only = Talk to a person only
widget-removed-details = (message with removed details)
assistant-topic-password = passwords
assistant-topic-account_recovery = getting back into an account
assistant-topic-email_change = changing the email address of an account
assistant-topic-second_factor = two-factor authentication
assistant-topic-payment_details = payment details
assistant-topic-refund_details = where refunds are paid
assistant-secure-link-sent = For your security I don't handle { $name } in this chat. I have sent a single-use link to the email address on your account; it works once and expires soon. If it does not arrive, I can hand you over to a person.
assistant-secure-use-reset = For your security I don't handle { $name } in this chat. Use "Forgot your password?" on the sign-in page (/login/reset): it sends a single-use link to the address on your account. Or I can hand you over to a person.
assistant-secure-person = For your security I don't handle { $name } in this chat. A person from our support team can help: hand this conversation over and they will contact you. Never send card numbers or bank details in a chat or by email.
assistant-people-only-reply = You chose support from a person only, so no automated answers are given here. Hand this conversation over and our team will reply.
assistant-no-longer-automated = This conversation no longer gets automated answers. Hand it over and a person from our team will reply.
assistant-of-course = Of course. Confirm below and this conversation goes to our support team with what you wrote here.
assistant-no-tickets = You have no tickets.
assistant-latest-tickets = { $count ->
    [one] Your latest ticket:
   *[other] Your latest { $count } tickets:
}
assistant-sign-in-for-tickets = I can't look up tickets in a conversation that isn't signed in. Sign in to the portal and start a new conversation, or see your tickets there.
assistant-no-article = I couldn't find an article in our help centre that answers this. Would you like a person from our support team to help?
assistant-help-says = Here is what our help centre says:
assistant-handed-over = Ticket #{ $number } is with our support team, with this conversation attached. You'll get replies by email and in the portal under My tickets.
assistant-handed-over-anonymous = Thank you. A person from our support team will read this conversation and reply to the address you gave. Because this conversation wasn't signed in, they won't discuss account details until you prove it's you.
prefs-availability = New tickets
prefs-availability-explained = Teams that assign tickets automatically give them only to agents who take new tickets. Untick this while you are away.
prefs-available = I take new tickets
notices-title = The assistant's notice, every version
notices-explained = What the assistant tells everyone before a conversation. When its words change, a new version is published and the old ones stay here: each choice about the assistant names the version it was made under.
notice-version = Notice of { $number }
notice-current = shown now
notice-is-current = This is the version shown before conversations now.
notice-replaced = Replaced by a newer version:
notices-all = Every version
your-data-consents = Your choices about the assistant
your-data-consent-assistant = agreed to talk to the assistant
your-data-consent-people = chose to talk to people only
your-data-no-consents = You have not made a choice about the assistant.
