-- One database per service: no service reads another's tables.
CREATE DATABASE cea_enrollment;
CREATE DATABASE cea_billing;
CREATE DATABASE cea_learning;
CREATE DATABASE cea_exam;
CREATE DATABASE cea_certificate;
CREATE DATABASE cea_identity;
