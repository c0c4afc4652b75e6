"""English and French words for every alert type the Connected Car API has published.

Keys are PascalCase types: all 104 values of ``AlertMsgEnum`` in spec 3.19.2, then the camelCase
values of the 2019 specs (v2.0, v2.0.3) and of 3.0.7, with their first letter upper-cased (see
``alert_text.normalise_type``). Vendor spellings are kept as keys on purpose (``CoolantLevellow``,
``Failue``, ``Collant``, ``Secoundary``, ``Break`` for brake): they are what the API sends.
Texts are short and tell a fleet manager what to do; English is British (tyre, bonnet, boot).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class AlertText:
    """The words for one alert type, in English and in French."""

    en: str
    fr: str


_TEXTS: dict[str, AlertText] = {
    # --- spec 3.19.2 AlertMsgEnum (the current API), in the spec's order ---
    "AbsBrakingSystemFault": AlertText(
        "ABS braking system fault: have it checked",
        "Défaut du système de freinage ABS : faire contrôler",
    ),
    "ActiveSpoilerFault": AlertText(
        "Active spoiler fault: have it checked",
        "Défaut de l'aileron actif : faire contrôler",
    ),
    "AdBlueFault": AlertText(
        "AdBlue system fault: have it checked",
        "Défaut du système AdBlue : faire contrôler",
    ),
    "AdBlueFaultStartingImpossible": AlertText(
        "AdBlue fault: the engine cannot be started, repair needed",
        "Défaut AdBlue : démarrage impossible, réparation nécessaire",
    ),
    "AdBlueFaultStartingImpossibleSoon": AlertText(
        "AdBlue fault: the engine will soon not start, have it repaired",
        "Défaut AdBlue : démarrage bientôt impossible, faire réparer",
    ),
    "AddWasherFluid": AlertText(
        "Add windscreen washer fluid",
        "Faire l'appoint de liquide lave-glace",
    ),
    "AirbagOrSeatBeltPretensionerOrActiveHoodFailure": AlertText(
        "Airbag, seat belt pretensioner or active bonnet failure: have it checked",
        "Défaillance airbag, prétensionneur de ceinture ou capot actif : faire contrôler",
    ),
    "AssistanceButtonFault": AlertText(
        "Assistance call button fault",
        "Défaut du bouton d'appel d'assistance",
    ),
    "AutomaticBrakingDeactivated": AlertText(
        "Automatic emergency braking deactivated",
        "Freinage automatique d'urgence désactivé",
    ),
    "AutomaticHeadlightAdjustmentFault": AlertText(
        "Automatic headlamp levelling fault",
        "Défaut du réglage automatique des projecteurs",
    ),
    "BatteryChargeOrElectricalCircuitSystemFailure": AlertText(
        "Battery charge or electrical system failure: stop and have it checked",
        "Défaillance de charge batterie ou du circuit électrique : s'arrêter et faire contrôler",
    ),
    "BrakingSystemFailure": AlertText(
        "Braking system failure: stop the vehicle safely",
        "Défaillance du système de freinage : arrêter le véhicule en sécurité",
    ),
    "ChargingFailure": AlertText(
        "Charging failure: check the cable and the charging point",
        "Échec de la charge : vérifier le câble et la borne",
    ),
    "CheckTheCenterBrakeLamp": AlertText(
        "Check the centre brake lamp",
        "Vérifier le troisième feu stop",
    ),
    "CollisionDetectionSystemFault": AlertText(
        "Collision warning system fault",
        "Défaut du système d'alerte de collision",
    ),
    "CollisionMitigationSystemFault": AlertText(
        "Collision mitigation system fault",
        "Défaut du système d'atténuation de collision",
    ),
    "CoolantLevellow": AlertText(
        "Coolant level low: top up",
        "Niveau de liquide de refroidissement bas : faire l'appoint",
    ),
    "DrivingAssistanceSensorBlind": AlertText(
        "Driving assistance sensor obstructed: clean it",
        "Capteur d'aide à la conduite obstrué : le nettoyer",
    ),
    "ElectricTractionSystemFailureLimitSpeed": AlertText(
        "Electric drive failure: limit speed and have it repaired",
        "Défaillance de la traction électrique : limiter la vitesse et faire réparer",
    ),
    "ElectricTractionSystemFailureStopVehicle": AlertText(
        "Electric drive failure: stop the vehicle safely",
        "Défaillance de la traction électrique : arrêter le véhicule en sécurité",
    ),
    "ElectricTractionSystemFault": AlertText(
        "Electric drive fault: have it checked",
        "Défaut de la traction électrique : faire contrôler",
    ),
    "ElectronicImmobiliserFault": AlertText(
        "Electronic immobiliser fault",
        "Défaut de l'antidémarrage électronique",
    ),
    "EmissionSystemOrAdBlueQualityFailueStartingImpossible": AlertText(
        "Emission control or AdBlue quality failure: the engine cannot be started",
        "Défaillance antipollution ou qualité AdBlue : démarrage impossible",
    ),
    "EmissionSystemOrAdBlueQualityFailueStartingImpossibleSoon": AlertText(
        "Emission control or AdBlue quality failure: the engine will soon not start",
        "Défaillance antipollution ou qualité AdBlue : démarrage bientôt impossible",
    ),
    "EmissionSystemOrAdBlueQualityFailure": AlertText(
        "Emission control or AdBlue quality failure: have it checked",
        "Défaillance antipollution ou qualité AdBlue : faire contrôler",
    ),
    "EngineFailure": AlertText(
        "Engine failure: stop the vehicle safely",
        "Défaillance moteur : arrêter le véhicule en sécurité",
    ),
    "EngineFault": AlertText(
        "Engine fault: have it checked",
        "Défaut moteur : faire contrôler",
    ),
    "EngineMisfiringFuel": AlertText(
        "Engine misfiring: have it checked",
        "Ratés d'allumage du moteur : faire contrôler",
    ),
    "EngineOilPressureFailure": AlertText(
        "Engine oil pressure failure: stop the engine",
        "Défaut de pression d'huile moteur : couper le moteur",
    ),
    "EngineTemperatureFailure": AlertText(
        "Engine overheating: stop and let it cool down",
        "Surchauffe moteur : s'arrêter et laisser refroidir",
    ),
    "EspAsrSystemFault": AlertText(
        "ESP/ASR stability control fault",
        "Défaut du contrôle de stabilité ESP/ASR",
    ),
    "FrontLeftFlashingIndicatorFault": AlertText(
        "Front left indicator fault",
        "Défaut du clignotant avant gauche",
    ),
    "FrontLeftFogLampsFault": AlertText(
        "Front left fog lamp fault",
        "Défaut du feu antibrouillard avant gauche",
    ),
    "FrontLeftParkingLampsFault": AlertText(
        "Front left sidelamp fault",
        "Défaut du feu de position avant gauche",
    ),
    "FrontRightFlashingIndicatorFault": AlertText(
        "Front right indicator fault",
        "Défaut du clignotant avant droit",
    ),
    "FrontRightFogLampsFault": AlertText(
        "Front right fog lamp fault",
        "Défaut du feu antibrouillard avant droit",
    ),
    "FrontRightParkingLampsFault": AlertText(
        "Front right sidelamp fault",
        "Défaut du feu de position avant droit",
    ),
    "FuelLevelLow": AlertText(
        "Fuel level low: refuel",
        "Niveau de carburant bas : faire le plein",
    ),
    "GearboxFault": AlertText(
        "Gearbox fault: have it checked",
        "Défaut de la boîte de vitesses : faire contrôler",
    ),
    "HeadlightsFault": AlertText(
        "Headlamp fault",
        "Défaut des projecteurs",
    ),
    "InstalledSpareWheelFault": AlertText(
        "Spare wheel fitted: driving aids may be limited",
        "Roue de secours montée : aides à la conduite peut-être limitées",
    ),
    "InterVehicleTimeMeasurementFault": AlertText(
        "Following distance alert fault",
        "Défaut de la mesure du temps inter-véhicules",
    ),
    "LaneChangeAssistanceFault": AlertText(
        "Lane change assist fault",
        "Défaut de l'aide au changement de voie",
    ),
    "LaneDepartureWarningSystemFault": AlertText(
        "Lane departure warning fault",
        "Défaut de l'alerte de franchissement de ligne",
    ),
    "LeftBrakeLampFault": AlertText(
        "Left brake lamp fault",
        "Défaut du feu stop gauche",
    ),
    "LeftFrontDoorOpen": AlertText(
        "Front left door open",
        "Porte avant gauche ouverte",
    ),
    "LeftFrontDoorOpenLowSpeed": AlertText(
        "Front left door open while moving",
        "Porte avant gauche ouverte en roulant",
    ),
    "LeftFrontTirePressurSensorFault": AlertText(
        "Front left tyre pressure sensor fault",
        "Défaut du capteur de pression du pneu avant gauche",
    ),
    "LeftFrontTirePuncture": AlertText(
        "Front left tyre puncture: stop and change the wheel",
        "Crevaison du pneu avant gauche : s'arrêter et changer la roue",
    ),
    "LeftFrontTireUnderInflated": AlertText(
        "Front left tyre under-inflated: adjust the pressure",
        "Pneu avant gauche sous-gonflé : ajuster la pression",
    ),
    "LeftRearDoorOpen": AlertText(
        "Rear left door open",
        "Porte arrière gauche ouverte",
    ),
    "LeftRearDoorOpenLowSpeed": AlertText(
        "Rear left door open while moving",
        "Porte arrière gauche ouverte en roulant",
    ),
    "LeftRearTirePressurSensorFault": AlertText(
        "Rear left tyre pressure sensor fault",
        "Défaut du capteur de pression du pneu arrière gauche",
    ),
    "LeftRearTirePuncture": AlertText(
        "Rear left tyre puncture: stop and change the wheel",
        "Crevaison du pneu arrière gauche : s'arrêter et changer la roue",
    ),
    "LeftRearTireUnderInflated": AlertText(
        "Rear left tyre under-inflated: adjust the pressure",
        "Pneu arrière gauche sous-gonflé : ajuster la pression",
    ),
    "LeftReverseLampFault": AlertText(
        "Left reversing lamp fault",
        "Défaut du feu de recul gauche",
    ),
    "OilLevelLow": AlertText(
        "Engine oil level low: top up",
        "Niveau d'huile moteur bas : faire l'appoint",
    ),
    "ParkAssistSystemFault": AlertText(
        "Parking assistance fault",
        "Défaut de l'aide au stationnement",
    ),
    "ParkingBrakeOrHillStartSystemFailure": AlertText(
        "Parking brake or hill start assist failure: have it checked",
        "Défaillance du frein de stationnement ou de l'aide au démarrage en côte : faire contrôler",
    ),
    "ParticleFilterAdditiveLevelTooLow": AlertText(
        "Particle filter additive level too low: have it topped up",
        "Niveau d'additif du filtre à particules trop bas : faire l'appoint",
    ),
    "ParticleFilterFull": AlertText(
        "Particle filter full: drive at a steady speed or have it serviced",
        "Filtre à particules saturé : rouler à vitesse soutenue ou faire entretenir",
    ),
    "ParticleFilterRegenerating": AlertText(
        "Particle filter regenerating: keep driving until it ends",
        "Régénération du filtre à particules : continuer à rouler jusqu'à la fin",
    ),
    "PowerSteeringFailure": AlertText(
        "Power steering failure: stop the vehicle safely",
        "Défaillance de la direction assistée : arrêter le véhicule en sécurité",
    ),
    "PowerSteeringFault": AlertText(
        "Power steering fault: have it checked",
        "Défaut de la direction assistée : faire contrôler",
    ),
    "PreheatingPreventilationDeactivatedBatteryLow": AlertText(
        "Pre-heating/pre-ventilation off: battery low",
        "Préchauffage/préventilation désactivé : batterie faible",
    ),
    "PreheatingPreventilationDeactivatedClockUnset": AlertText(
        "Pre-heating/pre-ventilation off: set the clock",
        "Préchauffage/préventilation désactivé : régler l'horloge",
    ),
    "PreheatingPreventilationDeactivatedFuelLevelLow": AlertText(
        "Pre-heating/pre-ventilation off: fuel level low",
        "Préchauffage/préventilation désactivé : niveau de carburant bas",
    ),
    "RearLeftFlashingIndicatorFault": AlertText(
        "Rear left indicator fault",
        "Défaut du clignotant arrière gauche",
    ),
    "RearLeftFogLampsFault": AlertText(
        "Rear left fog lamp fault",
        "Défaut du feu antibrouillard arrière gauche",
    ),
    "RearLeftParkingLampsFault": AlertText(
        "Rear left sidelamp fault",
        "Défaut du feu de position arrière gauche",
    ),
    "RearRightFlashingIndicatorFault": AlertText(
        "Rear right indicator fault",
        "Défaut du clignotant arrière droit",
    ),
    "RearRightFogLampsFault": AlertText(
        "Rear right fog lamp fault",
        "Défaut du feu antibrouillard arrière droit",
    ),
    "RearRightParkingLampsFault": AlertText(
        "Rear right sidelamp fault",
        "Défaut du feu de position arrière droit",
    ),
    "RearWindowOpen": AlertText(
        "Rear screen open",
        "Lunette arrière ouverte",
    ),
    "RearWindowOpenLowSpeed": AlertText(
        "Rear screen open while moving",
        "Lunette arrière ouverte en roulant",
    ),
    "ReplaceBrakePads": AlertText(
        "Replace the brake pads",
        "Remplacer les plaquettes de frein",
    ),
    "ReplaceTheRemoteControlBattery": AlertText(
        "Replace the remote key battery",
        "Remplacer la pile de la télécommande",
    ),
    "RetractableRoofMechanismFault": AlertText(
        "Retractable roof mechanism fault",
        "Défaut du mécanisme de toit escamotable",
    ),
    "RightBrakeLampFault": AlertText(
        "Right brake lamp fault",
        "Défaut du feu stop droit",
    ),
    "RightFrontDoorOpenLowSpeed": AlertText(
        "Front right door open while moving",
        "Porte avant droite ouverte en roulant",
    ),
    "RightFrontDoorOpen": AlertText(
        "Front right door open",
        "Porte avant droite ouverte",
    ),
    "RightFrontTirePressurSensorFault": AlertText(
        "Front right tyre pressure sensor fault",
        "Défaut du capteur de pression du pneu avant droit",
    ),
    "RightFrontTirePuncture": AlertText(
        "Front right tyre puncture: stop and change the wheel",
        "Crevaison du pneu avant droit : s'arrêter et changer la roue",
    ),
    "RightFrontTireUnderInflated": AlertText(
        "Front right tyre under-inflated: adjust the pressure",
        "Pneu avant droit sous-gonflé : ajuster la pression",
    ),
    "RightRearDoorOpen": AlertText(
        "Rear right door open",
        "Porte arrière droite ouverte",
    ),
    "RightRearDoorOpenLowSpeed": AlertText(
        "Rear right door open while moving",
        "Porte arrière droite ouverte en roulant",
    ),
    "RightRearTirePressurSensorFault": AlertText(
        "Rear right tyre pressure sensor fault",
        "Défaut du capteur de pression du pneu arrière droit",
    ),
    "RightRearTirePuncture": AlertText(
        "Rear right tyre puncture: stop and change the wheel",
        "Crevaison du pneu arrière droit : s'arrêter et changer la roue",
    ),
    "RightRearTireUnderInflated": AlertText(
        "Rear right tyre under-inflated: adjust the pressure",
        "Pneu arrière droit sous-gonflé : ajuster la pression",
    ),
    "RightReverseLampFault": AlertText(
        "Right reversing lamp fault",
        "Défaut du feu de recul droit",
    ),
    "RiskOfIce": AlertText(
        "Risk of ice: drive carefully",
        "Risque de verglas : rouler prudemment",
    ),
    "RoofOperationNotPossibleSpeedUnknown": AlertText(
        "Roof cannot be operated: vehicle speed unknown",
        "Manœuvre du toit impossible : vitesse du véhicule inconnue",
    ),
    "RoofOperationNotPossibleTooHighTemp": AlertText(
        "Roof cannot be operated: temperature too high",
        "Manœuvre du toit impossible : température trop élevée",
    ),
    "ShiftToPark": AlertText(
        "Shift the gearbox to P",
        "Placer le levier de vitesses sur P",
    ),
    "SteeringLockFault": AlertText(
        "Steering lock fault",
        "Défaut de l'antivol de direction",
    ),
    "SuspensionFault": AlertText(
        "Suspension fault: have it checked",
        "Défaut de suspension : faire contrôler",
    ),
    "SuspensionFaultLimitSpeed": AlertText(
        "Suspension fault: limit speed",
        "Défaut de suspension : limiter la vitesse",
    ),
    "SuspensionFaultRepaireVehicle": AlertText(
        "Suspension fault: have the vehicle repaired",
        "Défaut de suspension : faire réparer le véhicule",
    ),
    "TireUnderInflationDetectionSystemFault": AlertText(
        "Tyre under-inflation detection fault",
        "Défaut de la détection de sous-gonflage des pneus",
    ),
    "TooManyRoofOperation": AlertText(
        "Too many roof operations: wait before trying again",
        "Trop de manœuvres du toit : patienter avant de réessayer",
    ),
    "TrailerConnectionFault": AlertText(
        "Trailer connection fault",
        "Défaut de branchement de la remorque",
    ),
    "TrunkOrHoodOpen": AlertText(
        "Boot or bonnet open",
        "Coffre ou capot ouvert",
    ),
    "TrunkOrHoodOpenLowSpeed": AlertText(
        "Boot or bonnet open while moving",
        "Coffre ou capot ouvert en roulant",
    ),
    "WaterInTheDieselFuelFilter": AlertText(
        "Water in the diesel filter: have it drained",
        "Présence d'eau dans le filtre à gazole : faire purger",
    ),
    # --- 2019 specs (v2.0, v2.0.3) and 3.0.7: camelCase there, first letter upper-cased here ---
    "AlertOilPressure": AlertText(
        "Oil pressure alert: stop the engine",
        "Alerte pression d'huile : couper le moteur",
    ),
    "AlertCollantTemp": AlertText(
        "Coolant temperature too high: stop and let the engine cool down",
        "Température du liquide de refroidissement trop élevée : s'arrêter et laisser refroidir",
    ),
    "AlertCoolantTemp": AlertText(
        "Coolant temperature too high: stop and let the engine cool down",
        "Température du liquide de refroidissement trop élevée : s'arrêter et laisser refroidir",
    ),
    "AlertBrakeFluid": AlertText(
        "Brake fluid level low: have it checked",
        "Niveau de liquide de frein bas : faire contrôler",
    ),
    "SteeringFault": AlertText(
        "Steering fault: have it checked",
        "Défaut de direction : faire contrôler",
    ),
    "AlertCollantLevel": AlertText(
        "Coolant level low: top up",
        "Niveau de liquide de refroidissement bas : faire l'appoint",
    ),
    "AlertCoolantLevel": AlertText(
        "Coolant level low: top up",
        "Niveau de liquide de refroidissement bas : faire l'appoint",
    ),
    "AlertOilLevel": AlertText(
        "Engine oil level low: top up",
        "Niveau d'huile moteur bas : faire l'appoint",
    ),
    "ParkingBrakeUnset": AlertText(
        "Parking brake not applied",
        "Frein de stationnement non serré",
    ),
    "FrontLeftDoorOpenHighSpeed": AlertText(
        "Front left door open at speed",
        "Porte avant gauche ouverte à haute vitesse",
    ),
    "FrontRightDoorOpenHighSpeed": AlertText(
        "Front right door open at speed",
        "Porte avant droite ouverte à haute vitesse",
    ),
    "RearLeftDoorOpenHighSpeed": AlertText(
        "Rear left door open at speed",
        "Porte arrière gauche ouverte à haute vitesse",
    ),
    "RearRightDoorOpenHighSpeed": AlertText(
        "Rear right door open at speed",
        "Porte arrière droite ouverte à haute vitesse",
    ),
    "FuelTankOpenHighSpeed": AlertText(
        "Fuel flap open at speed",
        "Trappe à carburant ouverte à haute vitesse",
    ),
    "TrunkOpenHighSpeed": AlertText(
        "Boot open at speed",
        "Coffre ouvert à haute vitesse",
    ),
    "TrunkWindowOpenHighSpeed": AlertText(
        "Rear screen open at speed",
        "Lunette arrière ouverte à haute vitesse",
    ),
    "EspFault": AlertText(
        "ESP stability control fault",
        "Défaut du contrôle de stabilité ESP",
    ),
    "BatteryLevelFault": AlertText(
        "Battery charge low: have it checked",
        "Charge de la batterie faible : faire contrôler",
    ),
    "WaterInGasoil": AlertText(
        "Water in the diesel fuel: have the filter drained",
        "Présence d'eau dans le gazole : faire purger le filtre",
    ),
    "PadWearFault": AlertText(
        "Brake pads worn: replace them",
        "Plaquettes de frein usées : les remplacer",
    ),
    "FuelLevelAlarm": AlertText(
        "Fuel level low: refuel",
        "Niveau de carburant bas : faire le plein",
    ),
    "AirbagOrSeatbeltFault": AlertText(
        "Airbag or seat belt fault: have it checked",
        "Défaut airbag ou ceinture de sécurité : faire contrôler",
    ),
    "AntipollutionFault": AlertText(
        "Emission control fault: have it checked",
        "Défaut antipollution : faire contrôler",
    ),
    "AbsFault": AlertText(
        "ABS fault: have it checked",
        "Défaut ABS : faire contrôler",
    ),
    "FapCycleFault": AlertText(
        "Particle filter regeneration fault",
        "Défaut de régénération du filtre à particules",
    ),
    "FapFault": AlertText(
        "Particle filter fault: have it checked",
        "Défaut du filtre à particules : faire contrôler",
    ),
    "AutomaticGearboxFault": AlertText(
        "Automatic gearbox fault: have it checked",
        "Défaut de la boîte de vitesses automatique : faire contrôler",
    ),
    "SuspensionSystemFault": AlertText(
        "Suspension system fault: have it checked",
        "Défaut du système de suspension : faire contrôler",
    ),
    "AccFault": AlertText(
        "Adaptive cruise control fault",
        "Défaut du régulateur de vitesse adaptatif",
    ),
    "AlarmFault": AlertText(
        "Anti-theft alarm fault",
        "Défaut de l'alarme antivol",
    ),
    "AutomaticHeadlampFault": AlertText(
        "Automatic headlamp fault",
        "Défaut de l'allumage automatique des feux",
    ),
    "WasherLevelAlarm": AlertText(
        "Washer fluid low: top up",
        "Niveau de lave-glace bas : faire l'appoint",
    ),
    "BatteryKeyAlarm": AlertText(
        "Key battery low: replace it",
        "Pile de la clé faible : la remplacer",
    ),
    "LightSensorFault": AlertText(
        "Light sensor fault",
        "Défaut du capteur de luminosité",
    ),
    "WheelPressureFault": AlertText(
        "Tyre pressure fault: check the tyres",
        "Défaut de pression des pneus : vérifier les pneus",
    ),
    "FrontLeftFlatTireAlarm": AlertText(
        "Front left tyre flat: stop and change the wheel",
        "Pneu avant gauche crevé : s'arrêter et changer la roue",
    ),
    "FrontRightFlatTireAlarm": AlertText(
        "Front right tyre flat: stop and change the wheel",
        "Pneu avant droit crevé : s'arrêter et changer la roue",
    ),
    "RearLeftFlatTireAlarm": AlertText(
        "Rear left tyre flat: stop and change the wheel",
        "Pneu arrière gauche crevé : s'arrêter et changer la roue",
    ),
    "RearRightFlatTireAlarm": AlertText(
        "Rear right tyre flat: stop and change the wheel",
        "Pneu arrière droit crevé : s'arrêter et changer la roue",
    ),
    "FrontLeftSidelightFault": AlertText(
        "Front left sidelamp fault",
        "Défaut du feu de position avant gauche",
    ),
    "FrontRightSidelightFault": AlertText(
        "Front right sidelamp fault",
        "Défaut du feu de position avant droit",
    ),
    "RearLeftSidelightFault": AlertText(
        "Rear left sidelamp fault",
        "Défaut du feu de position arrière gauche",
    ),
    "RearRightSidelightFault": AlertText(
        "Rear right sidelamp fault",
        "Défaut du feu de position arrière droit",
    ),
    "LeftHeadlightFault": AlertText(
        "Left headlamp fault",
        "Défaut du projecteur gauche",
    ),
    "RightHeadlightFault": AlertText(
        "Right headlamp fault",
        "Défaut du projecteur droit",
    ),
    "LeftHighbeamFault": AlertText(
        "Left main beam fault",
        "Défaut du feu de route gauche",
    ),
    "RightHighbeamFault": AlertText(
        "Right main beam fault",
        "Défaut du feu de route droit",
    ),
    "LeftStoplightFault": AlertText(
        "Left brake lamp fault",
        "Défaut du feu stop gauche",
    ),
    "RightStoplightFault": AlertText(
        "Right brake lamp fault",
        "Défaut du feu stop droit",
    ),
    "FrontFoglightFault": AlertText(
        "Front fog lamp fault",
        "Défaut des feux antibrouillard avant",
    ),
    "RearFoglightFault": AlertText(
        "Rear fog lamp fault",
        "Défaut du feu antibrouillard arrière",
    ),
    "FrontLeftTurnFault": AlertText(
        "Front left indicator fault",
        "Défaut du clignotant avant gauche",
    ),
    "FrontRightTurnFault": AlertText(
        "Front right indicator fault",
        "Défaut du clignotant avant droit",
    ),
    "RearLeftTurnFault": AlertText(
        "Rear left indicator fault",
        "Défaut du clignotant arrière gauche",
    ),
    "RearRightTurnFault": AlertText(
        "Rear right indicator fault",
        "Défaut du clignotant arrière droit",
    ),
    "RightReversingLightFault": AlertText(
        "Right reversing lamp fault",
        "Défaut du feu de recul droit",
    ),
    "LeftReversingLightFault": AlertText(
        "Left reversing lamp fault",
        "Défaut du feu de recul gauche",
    ),
    "ActiveHoodFault": AlertText(
        "Active bonnet fault: have it checked",
        "Défaut du capot actif : faire contrôler",
    ),
    "ProximityObstacleDetectorFault": AlertText(
        "Obstacle detection sensor fault",
        "Défaut du détecteur d'obstacles",
    ),
    "PlaceMeasurementFault": AlertText(
        "Parking space measurement fault",
        "Défaut de la mesure de place de stationnement",
    ),
    "FrontRightTirePressureAlarm": AlertText(
        "Front right tyre pressure low: inflate it",
        "Pression du pneu avant droit basse : regonfler",
    ),
    "FrontLeftTirePressureAlarm": AlertText(
        "Front left tyre pressure low: inflate it",
        "Pression du pneu avant gauche basse : regonfler",
    ),
    "RearRightTirePressureAlarm": AlertText(
        "Rear right tyre pressure low: inflate it",
        "Pression du pneu arrière droit basse : regonfler",
    ),
    "RearLeftTirePressureAlarm": AlertText(
        "Rear left tyre pressure low: inflate it",
        "Pression du pneu arrière gauche basse : regonfler",
    ),
    "ActiveHoodAlert": AlertText(
        "Active bonnet deployed: have it checked",
        "Capot actif déclenché : faire contrôler",
    ),
    "FrontRightSeatbeltAlarm": AlertText(
        "Front right seat belt not fastened",
        "Ceinture avant droite non bouclée",
    ),
    "FrontLeftSeatbeltAlarm": AlertText(
        "Front left seat belt not fastened",
        "Ceinture avant gauche non bouclée",
    ),
    "RearRightSeatbeltAlarm": AlertText(
        "Rear right seat belt not fastened",
        "Ceinture arrière droite non bouclée",
    ),
    "RearCenterSeatbeltAlarm": AlertText(
        "Rear centre seat belt not fastened",
        "Ceinture arrière centrale non bouclée",
    ),
    "RearLeftSeatbeltAlarm": AlertText(
        "Rear left seat belt not fastened",
        "Ceinture arrière gauche non bouclée",
    ),
    "AutomaticGearboxParkingModeAlarm": AlertText(
        "Automatic gearbox not in P: shift to P",
        "Boîte automatique pas sur P : passer sur P",
    ),
    "IceRiskAlarm": AlertText(
        "Risk of ice: drive carefully",
        "Risque de verglas : rouler prudemment",
    ),
    "FrontLeftDoorOpen": AlertText(
        "Front left door open",
        "Porte avant gauche ouverte",
    ),
    "FrontRightDoorOpen": AlertText(
        "Front right door open",
        "Porte avant droite ouverte",
    ),
    "RearLeftDoorOpen": AlertText(
        "Rear left door open",
        "Porte arrière gauche ouverte",
    ),
    "RearRightDoorOpen": AlertText(
        "Rear right door open",
        "Porte arrière droite ouverte",
    ),
    "TrunkOpen": AlertText(
        "Boot open",
        "Coffre ouvert",
    ),
    "HoodOpen": AlertText(
        "Bonnet open",
        "Capot ouvert",
    ),
    "TrunkWindowOpen": AlertText(
        "Rear screen open",
        "Lunette arrière ouverte",
    ),
    "FuelTankOpen": AlertText(
        "Fuel flap open",
        "Trappe à carburant ouverte",
    ),
    "SecoundaryElectricHandbrakeFault": AlertText(
        "Electric parking brake backup fault: have it checked",
        "Défaut du secours du frein de stationnement électrique : faire contrôler",
    ),
    "MovableDeflectorFault": AlertText(
        "Movable air deflector fault",
        "Défaut du déflecteur d'air mobile",
    ),
    "HoodOpenHighSpeed": AlertText(
        "Bonnet open at speed",
        "Capot ouvert à haute vitesse",
    ),
    "AuxilliaryLightFault": AlertText(
        "Auxiliary lamp fault",
        "Défaut d'un feu auxiliaire",
    ),
    "HandsFreeStartUpFault": AlertText(
        "Keyless start fault",
        "Défaut du démarrage mains libres",
    ),
    "HandsFreeStartingFault": AlertText(
        "Keyless start fault",
        "Défaut du démarrage mains libres",
    ),
    "ExtendedStartUp": AlertText(
        "Engine slow to start: have the starting system checked",
        "Démarrage prolongé : faire contrôler le système de démarrage",
    ),
    "HandsFreeRemoteDeviceNotDetected": AlertText(
        "Keyless key not detected",
        "Clé mains libres non détectée",
    ),
    "PassAssistFault": AlertText(
        "Overtaking assist fault",
        "Défaut de l'aide au dépassement",
    ),
    "ChargingSystemFault": AlertText(
        "Charging system fault: have it checked",
        "Défaut du circuit de charge : faire contrôler",
    ),
    "RiskOfParticleFilterBlockage": AlertText(
        "Risk of particle filter blockage: drive at a steady speed",
        "Risque de colmatage du filtre à particules : rouler à vitesse soutenue",
    ),
    "ParticleFilterAdditiveTooLow": AlertText(
        "Particle filter additive level too low: have it topped up",
        "Niveau d'additif du filtre à particules trop bas : faire l'appoint",
    ),
    "PreaheatingDeactivatedBatteryTooLow": AlertText(
        "Pre-heating off: battery too low",
        "Préchauffage désactivé : batterie trop faible",
    ),
    "PreaheatingDeactivatedFuelLevelTooLow": AlertText(
        "Pre-heating off: fuel level too low",
        "Préchauffage désactivé : niveau de carburant trop bas",
    ),
    "CheckTheBrakeLamp": AlertText(
        "Check the brake lamps",
        "Vérifier les feux stop",
    ),
    "AlertSteeringLock": AlertText(
        "Steering lock alert: have it checked",
        "Alerte antivol de direction : faire contrôler",
    ),
    "RoofOperationImpossibleTemperatureTooHigh": AlertText(
        "Roof cannot be operated: temperature too high",
        "Manœuvre du toit impossible : température trop élevée",
    ),
    "RoofOperationImpossibleStartEngine": AlertText(
        "Roof cannot be operated: start the engine",
        "Manœuvre du toit impossible : démarrer le moteur",
    ),
    "RoofOperationImpossibleApplyParkingBreak": AlertText(
        "Roof cannot be operated: apply the parking brake",
        "Manœuvre du toit impossible : serrer le frein de stationnement",
    ),
    "HybridSystemFault": AlertText(
        "Hybrid system fault: have it checked",
        "Défaut du système hybride : faire contrôler",
    ),
    "HybridSystemFaultRepairedTheVehicle": AlertText(
        "Hybrid system fault: have the vehicle repaired",
        "Défaut du système hybride : faire réparer le véhicule",
    ),
    "ControlledAirInTakeFault": AlertText(
        "Controlled air intake fault",
        "Défaut de l'entrée d'air pilotée",
    ),
    "PreaheatingDeactivatedSetTheClock": AlertText(
        "Pre-heating off: set the clock",
        "Préchauffage désactivé : régler l'horloge",
    ),
    "UnderInflationTyreFault": AlertText(
        "Tyre under-inflation detection fault",
        "Défaut de la détection de sous-gonflage des pneus",
    ),
    "LimitedVisibilityAidsCamera": AlertText(
        "Driving aid camera view limited: clean the windscreen",
        "Visibilité de la caméra d'aide à la conduite réduite : nettoyer le pare-brise",
    ),
    "ElectricModeNotAvailable": AlertText(
        "Electric mode not available",
        "Mode électrique indisponible",
    ),
    "CheckSideLamps": AlertText(
        "Check the sidelamps",
        "Vérifier les feux de position",
    ),
    "CheckDippedBeamHeadlamps": AlertText(
        "Check the dipped beam headlamps",
        "Vérifier les feux de croisement",
    ),
    "CheckMainBeamHeadlamps": AlertText(
        "Check the main beam headlamps",
        "Vérifier les feux de route",
    ),
    "CheckRightBrakeLamp": AlertText(
        "Check the right brake lamp",
        "Vérifier le feu stop droit",
    ),
    "CheckLeftBrakeLamp": AlertText(
        "Check the left brake lamp",
        "Vérifier le feu stop gauche",
    ),
    "CheckDirectionIndicator": AlertText(
        "Check the direction indicators",
        "Vérifier les clignotants",
    ),
    "CheckReversingLamp": AlertText(
        "Check the reversing lamps",
        "Vérifier les feux de recul",
    ),
    "ParkingAssistanceFault": AlertText(
        "Parking assistance fault",
        "Défaut de l'aide au stationnement",
    ),
    "AdjustTyrePressure": AlertText(
        "Adjust the tyre pressure",
        "Ajuster la pression des pneus",
    ),
    "PlaceGearBoxToP": AlertText(
        "Shift the gearbox to P",
        "Placer le levier de vitesses sur P",
    ),
    "BootOpen": AlertText(
        "Boot open",
        "Coffre ouvert",
    ),
    "RearScreenOpen": AlertText(
        "Rear screen open",
        "Lunette arrière ouverte",
    ),
    "ParkingBreakFault": AlertText(
        "Parking brake fault: have it checked",
        "Défaut du frein de stationnement : faire contrôler",
    ),
    "AutomaticBreakingSystemFault": AlertText(
        "Automatic emergency braking fault",
        "Défaut du freinage automatique d'urgence",
    ),
    "DirectionalHeadlampsFault": AlertText(
        "Directional headlamps fault",
        "Défaut des projecteurs directionnels",
    ),
    "SuspensionFaultLimitTo90km": AlertText(
        "Suspension fault: do not exceed 90 km/h",
        "Défaut de suspension : ne pas dépasser 90 km/h",
    ),
    "SuspensionFaultLimitTo55mph": AlertText(
        "Suspension fault: do not exceed 55 mph",
        "Défaut de suspension : ne pas dépasser 55 mph",
    ),
    "FrontLeftTyreNotMonitored": AlertText(
        "Front left tyre pressure not monitored",
        "Pression du pneu avant gauche non surveillée",
    ),
    "FrontRightTyreNotMonitored": AlertText(
        "Front right tyre pressure not monitored",
        "Pression du pneu avant droit non surveillée",
    ),
    "RearRightTyreNotMonitored": AlertText(
        "Rear right tyre pressure not monitored",
        "Pression du pneu arrière droit non surveillée",
    ),
    "RearLeftTyreNotMonitored": AlertText(
        "Rear left tyre pressure not monitored",
        "Pression du pneu arrière gauche non surveillée",
    ),
    "LaneDepartureFault": AlertText(
        "Lane departure warning fault",
        "Défaut de l'alerte de franchissement de ligne",
    ),
    "TyreUnderInflation": AlertText(
        "Tyre under-inflation: adjust the pressure",
        "Sous-gonflage d'un pneu : ajuster la pression",
    ),
    "TyreUnderInflated": AlertText(
        "Tyre under-inflated: adjust the pressure",
        "Pneu sous-gonflé : ajuster la pression",
    ),
    "SpareWheelFittedDrivingAidsDeactivated": AlertText(
        "Spare wheel fitted: driving aids deactivated",
        "Roue de secours montée : aides à la conduite désactivées",
    ),
    "AutomaticBreakingDeactived": AlertText(
        "Automatic emergency braking deactivated",
        "Freinage automatique d'urgence désactivé",
    ),
    "TopUpAdBlue": AlertText(
        "Top up AdBlue",
        "Faire l'appoint d'AdBlue",
    ),
    "LongPushToUnlockTankFault": AlertText(
        "Fuel flap unlocking fault",
        "Défaut de déverrouillage de la trappe à carburant",
    ),
    "TankFault": AlertText(
        "Fuel tank fault: have it checked",
        "Défaut du réservoir : faire contrôler",
    ),
}

ALERT_TEXTS: Mapping[str, AlertText] = MappingProxyType(_TEXTS)
