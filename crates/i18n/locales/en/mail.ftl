## Mail to people: links, security notices, replies. Plain text; lines as written.

mail-reset-subject = Reset your password
mail-reset-body = Someone asked to reset the password of your account ({ $address }).

    To choose a new password, open this link within 15 minutes. It works once:

    { $link }

    You will still need your second factor to sign in afterwards. If you did not ask for this, ignore this message: your password stays as it is.
mail-invite-subject = Your support portal account
mail-invite-body = Hello { $name },

    An account was created for you on our support portal, where you can follow and answer your requests.

    To activate it, choose a password within 72 hours. The link works once:

    { $link }

    If you did not expect this, you can ignore this message.
mail-notice-footer = If this was you, there is nothing to do. If it was not, sign in and change your password, check your devices and second factors, or contact your administrator.

    This message was sent by Palisade; it contains no links on purpose.
mail-notice-password-changed-subject = Your password was changed
mail-notice-password-changed = The password of your account was just changed from a signed-in session, and every other device was signed out.
mail-notice-password-reset-subject = Your password was reset
mail-notice-password-reset = The password of your account was just reset with a link sent to this address, and every device that was signed in has been signed out.
mail-notice-factors-changed-subject = Your sign-in methods changed
mail-notice-factors-changed = A second factor (authenticator app, passkey or recovery codes) of your account was just added or removed, and your other devices were signed out.
mail-notice-factors-reset-subject = Set up a new second factor
mail-notice-factors-reset = An administrator removed the authenticator app, passkeys and recovery codes of your account and signed out every device. At your next sign-in, after your password, you will set up a new second factor.
mail-notice-paused-subject = Sign-in to your account was paused
mail-notice-paused = Several wrong passwords were entered for your account, so signing in is paused for a while. Your password has not been changed.
mail-notice-elsewhere-subject = New sign-in to your account
mail-notice-elsewhere = Your account was signed in on another device (from { $address }), so the session on your previous device ({ $other }) was ended.
mail-unknown-address = an unknown address
mail-confirm-subject = Please confirm your message to our support team
mail-confirm-body = Our support team received a message in your name, with the subject "{ $name }". It did not come through a channel that proves who sent it, so it is not in your account yet.

    If you sent it, confirm it here to follow it and our replies in your account:

    { $link }

    If you did not, ignore this email: the message stays out of your account and nobody is told anything about it. Either way, our replies come only to this address. The link works once, for 14 days.
mail-reply-withheld = { $count ->
    [one] 1 file sent with this reply is not attached to this email; sign in to see it: { $link }
   *[other] { $count } files sent with this reply are not attached to this email; sign in to see them: { $link }
}
mail-reply-footer = Reply to this email to answer (ticket #{ $number }). Your reply reaches the ticket only from this address.
mail-secure-subject = [#{ $number }] New reply to your request
mail-secure-body = There is a new reply on your request #{ $number }.

    Sign in to read it:
    { $link }

    For your security the reply itself is not sent by email.
mail-notify-about = { $name }: ticket #{ $number } "{ $other }".
mail-notify-footer = Choose what you are told, and how: { $link }
mail-digest-subject = { $count ->
    [one] Palisade: 1 notification
   *[other] Palisade: { $count } notifications
}
mail-digest-intro = Since your last digest:

mail-ack-subject = [#{ $number }] We have received your request
mail-ack-body = Hello { $name },

    thank you for writing to us. Your request is number { $number }: "{ $other }".
    We answer as soon as we can; reply to this mail to add anything to it.
mail-ack-body-secure = Hello { $name },

    thank you for writing to us. Your request is number { $number }.
    We answer as soon as we can; reply to this mail to add anything to it.
mail-survey-subject = [#{ $number }] How did we do?
mail-survey-body = Your request #{ $number } is solved. Were you helped well?

    Tell us in a click (the page asks nothing else):
    { $link }

    If anything is still open, simply reply to this mail.
