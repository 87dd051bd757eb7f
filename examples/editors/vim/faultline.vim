" faultline in vim: the concise format is the short form compilers print
" (`path:line:col: level[rule]: message`), so the quickfix list reads it.
"
"   :source examples/editors/vim/faultline.vim   (or copy into your vimrc,
"                                                 or into ~/.vim/compiler/faultline.vim)
"   :make                    scan the working directory, then :copen, :cnext
"   :cfile faultline.txt     load a saved `faultline scan -f concise` output
"
" Each entry gets its type from the level (e = error, w = warning, n = note)
" and its text from `[rule-id]: message`. Lines without a position (skipped
" files, notices about whole files) are kept as plain text, so :cnext walks
" the findings only.

set makeprg=faultline\ scan\ --format\ concise\ --fail-on\ never
set errorformat=%f:%l:%c:\ %t%*[a-z]%m
