;;; faultline.el --- run faultline with compilation mode  -*- lexical-binding: t; -*-

;; Load it (M-x load-file, or (load "/path/to/faultline.el") in your init
;; file), then M-x faultline in a project: the findings land in a
;; *compilation* buffer; RET or M-g n jumps to each one, with its level as
;; the error/warning/info type.
;;
;; The concise format is `path:line:col: level[rule-id]: message`, which the
;; regexp below reads: group 1 the file, 2 the line, 3 the column, and the
;; level decides the type (error unless group 5 matched "warning" or group 6
;; matched "note").

;;; Code:

(require 'compile)

(add-to-list 'compilation-error-regexp-alist-alist
             '(faultline
               "^\\([^:\n]+\\):\\([0-9]+\\):\\([0-9]+\\): \\(?:\\(error\\)\\|\\(warning\\)\\|\\(note\\)\\)\\["
               1 2 3 (5 . 6)))
(add-to-list 'compilation-error-regexp-alist 'faultline)

(defun faultline (&optional directory)
  "Scan DIRECTORY (default: the project root or `default-directory') with faultline."
  (interactive)
  (let ((default-directory (or directory
                               (and (fboundp 'project-current)
                                    (project-current)
                                    (project-root (project-current)))
                               default-directory)))
    (compile "faultline scan --format concise --fail-on never")))

(provide 'faultline)
;;; faultline.el ends here
